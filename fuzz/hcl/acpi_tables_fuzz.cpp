// Fuzzes the ACPI DMAR and IVRS parsers and the EFI variable parser with the same input.
// Accepted tables must satisfy the header rules the parsers claim to enforce.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hcl/acpi_tables.hpp"
#include "hcl/system_checks.hpp"

namespace {

void check_header(const bulkhead::hcl::AcpiHeader& header, std::string_view table) {
    if (header.length != table.size() || table.size() < bulkhead::hcl::kAcpiHeaderBytes) std::abort();
    unsigned sum = 0;
    for (const char c : table) sum += static_cast<unsigned char>(c);
    if ((sum & 0xffU) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view table(reinterpret_cast<const char*>(data), size);
    if (auto dmar = bulkhead::hcl::parse_dmar(table)) {
        check_header(dmar->header, table);
        if (table.substr(0, 4) != "DMAR") std::abort();
    }
    if (auto ivrs = bulkhead::hcl::parse_ivrs(table)) {
        check_header(ivrs->header, table);
        if (table.substr(0, 4) != "IVRS") std::abort();
    }
    if (auto enabled = bulkhead::hcl::parse_efi_boolean_variable(table)) {
        if (size != 5) std::abort();
    }
    return 0;
}
