#include "hcl/acpi_tables.hpp"

#include "base/text.hpp"

namespace bulkhead::hcl {

namespace {

std::uint8_t u8_at(std::string_view data, std::size_t offset) { return static_cast<std::uint8_t>(data[offset]); }
std::uint16_t u16_at(std::string_view data, std::size_t offset) {
    return static_cast<std::uint16_t>(u8_at(data, offset) | (u8_at(data, offset + 1) << 8U));
}
std::uint32_t u32_at(std::string_view data, std::size_t offset) {
    return static_cast<std::uint32_t>(u16_at(data, offset)) |
           (static_cast<std::uint32_t>(u16_at(data, offset + 2)) << 16U);
}

std::string printable_id(std::string_view raw) {
    std::string out;
    for (const char c : raw) {
        if (c == '\0') break;
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::string hex_byte(unsigned value) { return hex(value & 0xffU, 2); }

Failure table_error(std::string_view signature, const std::string& what) {
    return fail(ErrorCode::parse, std::string(signature) + " table: " + what);
}

}  // namespace

Result<AcpiHeader> parse_acpi_header(std::string_view table, std::string_view expected_signature) {
    if (table.size() > kMaxAcpiTableBytes) {
        return fail(ErrorCode::too_large, std::string(expected_signature) + " table is larger than " +
                                              std::to_string(kMaxAcpiTableBytes) + " bytes");
    }
    if (table.size() < kAcpiHeaderBytes) {
        return table_error(expected_signature,
                           "only " + std::to_string(table.size()) + " bytes, shorter than the 36-byte ACPI header");
    }
    AcpiHeader header;
    header.signature = printable_id(table.substr(0, 4));
    if (table.substr(0, 4) != expected_signature) {
        return table_error(expected_signature, "signature is '" + header.signature + "'");
    }
    header.length = u32_at(table, 4);
    if (header.length != table.size()) {
        return table_error(expected_signature, "header length " + std::to_string(header.length) +
                                                   " does not match the " + std::to_string(table.size()) +
                                                   " bytes read");
    }
    unsigned sum = 0;
    for (const char c : table) sum += static_cast<unsigned char>(c);
    if ((sum & 0xffU) != 0) {
        return table_error(expected_signature,
                           "checksum mismatch (bytes sum to " + hex_byte(sum) + " modulo 256, expected 0x00)");
    }
    header.revision = u8_at(table, 8);
    header.oem_id = printable_id(table.substr(10, 6));
    header.oem_table_id = printable_id(table.substr(16, 8));
    return header;
}

Result<DmarTable> parse_dmar(std::string_view table) {
    auto header = parse_acpi_header(table, "DMAR");
    if (!header) return fail(header.error());
    constexpr std::size_t kFixedPart = kAcpiHeaderBytes + 12;  // width, flags, 10 reserved
    if (table.size() < kFixedPart) return table_error("DMAR", "truncated before its first structure");

    DmarTable dmar;
    dmar.header = std::move(*header);
    dmar.host_address_width_bits = u8_at(table, 36) + 1U;
    const std::uint8_t flags = u8_at(table, 37);
    dmar.interrupt_remapping = (flags & 0x1U) != 0;
    dmar.x2apic_opt_out = (flags & 0x2U) != 0;
    dmar.dma_control_opt_in = (flags & 0x4U) != 0;

    std::size_t offset = kFixedPart;
    while (offset < table.size()) {
        if (table.size() - offset < 4) {
            return table_error("DMAR", "truncated structure header at offset " + std::to_string(offset));
        }
        const std::uint16_t type = u16_at(table, offset);
        const std::uint16_t length = u16_at(table, offset + 2);
        const std::string where = "structure at offset " + std::to_string(offset);
        if (length < 4 || length > table.size() - offset) {
            return table_error("DMAR", where + " has invalid length " + std::to_string(length));
        }
        switch (type) {
            case 0: {  // DRHD: flags, size, segment, register base, then device scopes
                if (length < 16) return table_error("DMAR", where + ": DRHD shorter than 16 bytes");
                std::size_t scope = offset + 16;
                const std::size_t end = offset + length;
                while (scope < end) {
                    if (end - scope < 6) return table_error("DMAR", where + ": truncated device scope");
                    const std::uint8_t scope_length = u8_at(table, scope + 1);
                    if (scope_length < 6 || scope_length > end - scope || (scope_length - 6) % 2 != 0) {
                        return table_error(
                            "DMAR", where + ": device scope with invalid length " + std::to_string(scope_length));
                    }
                    scope += scope_length;
                }
                ++dmar.remapping_units;
                break;
            }
            case 1:  // RMRR
                if (length < 24) return table_error("DMAR", where + ": RMRR shorter than 24 bytes");
                ++dmar.reserved_memory_regions;
                break;
            default: ++dmar.other_structures; break;
        }
        offset += length;
    }
    return dmar;
}

Result<IvrsTable> parse_ivrs(std::string_view table) {
    auto header = parse_acpi_header(table, "IVRS");
    if (!header) return fail(header.error());
    constexpr std::size_t kFixedPart = kAcpiHeaderBytes + 12;  // IVinfo, 8 reserved
    if (table.size() < kFixedPart) return table_error("IVRS", "truncated before its first block");

    IvrsTable ivrs;
    ivrs.header = std::move(*header);
    ivrs.iv_info = u32_at(table, 36);
    ivrs.physical_address_bits = (ivrs.iv_info >> 8U) & 0x7fU;
    ivrs.virtual_address_bits = (ivrs.iv_info >> 15U) & 0x7fU;

    std::size_t offset = kFixedPart;
    while (offset < table.size()) {
        if (table.size() - offset < 4) {
            return table_error("IVRS", "truncated block header at offset " + std::to_string(offset));
        }
        const std::uint8_t type = u8_at(table, offset);
        const std::uint16_t length = u16_at(table, offset + 2);
        const std::string where = "block type " + hex_byte(type) + " at offset " + std::to_string(offset);
        if (length < 4 || length > table.size() - offset) {
            return table_error("IVRS", where + " has invalid length " + std::to_string(length));
        }
        if (type == 0x10) {
            if (length < 24) return table_error("IVRS", where + ": IVHD shorter than 24 bytes");
            ++ivrs.iommu_units;
        } else if (type == 0x11 || type == 0x40) {
            if (length < 40) return table_error("IVRS", where + ": IVHD shorter than 40 bytes");
            ++ivrs.iommu_units;
        } else if (type >= 0x20 && type <= 0x22) {
            if (length < 32) return table_error("IVRS", where + ": IVMD shorter than 32 bytes");
            ++ivrs.memory_definitions;
        } else {
            ++ivrs.other_blocks;
        }
        offset += length;
    }
    return ivrs;
}

}  // namespace bulkhead::hcl
