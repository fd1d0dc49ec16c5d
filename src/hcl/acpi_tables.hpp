// Parsers for the ACPI tables that describe an IOMMU: Intel's DMAR and AMD's IVRS.
// Input is the raw table as exposed under /sys/firmware/acpi/tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::hcl {

// Real DMAR/IVRS tables are a few KiB; anything near this bound is hostile or corrupt.
inline constexpr std::size_t kMaxAcpiTableBytes = std::size_t{1} << 20;
inline constexpr std::size_t kAcpiHeaderBytes = 36;

struct AcpiHeader {
    std::string signature;  // 4 ASCII characters
    std::uint32_t length = 0;
    std::uint8_t revision = 0;
    std::string oem_id;        // trailing spaces and NULs removed
    std::string oem_table_id;  // trailing spaces and NULs removed
};

// Checks the signature, that the length field equals the data size, and the checksum.
Result<AcpiHeader> parse_acpi_header(std::string_view table, std::string_view expected_signature);

// Intel VT-d "DMA Remapping Reporting" table.
struct DmarTable {
    AcpiHeader header;
    unsigned host_address_width_bits = 0;
    bool interrupt_remapping = false;
    bool x2apic_opt_out = false;
    bool dma_control_opt_in = false;
    std::size_t remapping_units = 0;          // DRHD structures
    std::size_t reserved_memory_regions = 0;  // RMRR structures
    std::size_t other_structures = 0;         // ATSR, RHSA, ANDD, SATC and future types
};

Result<DmarTable> parse_dmar(std::string_view table);

// AMD "I/O Virtualization Reporting Structure".
struct IvrsTable {
    AcpiHeader header;
    std::uint32_t iv_info = 0;
    unsigned physical_address_bits = 0;  // IVinfo bits 14:8
    unsigned virtual_address_bits = 0;   // IVinfo bits 21:15
    std::size_t iommu_units = 0;         // IVHD blocks (types 10h, 11h, 40h)
    std::size_t memory_definitions = 0;  // IVMD blocks (types 20h-22h)
    std::size_t other_blocks = 0;
};

Result<IvrsTable> parse_ivrs(std::string_view table);

}  // namespace bulkhead::hcl
