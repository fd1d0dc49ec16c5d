#include "hcl/acpi_tables.hpp"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace bulkhead::hcl {
namespace {

std::string fixture(const std::string& relative) {
    return testing::read_whole_file(std::string(BULKHEAD_FIXTURES_DIR) + "/hcl/" + relative);
}

void put_u16(std::string& data, std::size_t offset, std::uint16_t value) {
    data[offset] = static_cast<char>(value & 0xffU);
    data[offset + 1] = static_cast<char>(value >> 8U);
}

// Makes the header's length and checksum match the (possibly edited) table again, so a test
// reaches the structure parser instead of stopping at the header.
std::string refit(std::string table) {
    const auto length = static_cast<std::uint32_t>(table.size());
    for (int i = 0; i < 4; ++i) table[4 + static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xffU);
    table[9] = 0;
    unsigned sum = 0;
    for (const char c : table) sum += static_cast<unsigned char>(c);
    table[9] = static_cast<char>((0x100U - (sum & 0xffU)) & 0xffU);
    return table;
}

TEST(Dmar, ParsesFixture) {
    auto dmar = parse_dmar(fixture("intel-laptop/sys/firmware/acpi/tables/DMAR"));
    ASSERT_TRUE(dmar) << dmar.error().message;
    EXPECT_EQ(dmar->header.signature, "DMAR");
    EXPECT_EQ(dmar->header.oem_id, "LENOVO");
    EXPECT_EQ(dmar->header.oem_table_id, "TP-N2E");
    EXPECT_EQ(dmar->host_address_width_bits, 39U);
    EXPECT_TRUE(dmar->interrupt_remapping);
    EXPECT_FALSE(dmar->x2apic_opt_out);
    EXPECT_TRUE(dmar->dma_control_opt_in);
    EXPECT_EQ(dmar->remapping_units, 2U);
    EXPECT_EQ(dmar->reserved_memory_regions, 1U);
    EXPECT_EQ(dmar->other_structures, 0U);
}

TEST(Ivrs, ParsesFixture) {
    auto ivrs = parse_ivrs(fixture("amd-desktop/sys/firmware/acpi/tables/IVRS"));
    ASSERT_TRUE(ivrs) << ivrs.error().message;
    EXPECT_EQ(ivrs->header.oem_id, "ALASKA");
    EXPECT_EQ(ivrs->physical_address_bits, 48U);
    EXPECT_EQ(ivrs->virtual_address_bits, 64U);
    EXPECT_EQ(ivrs->iommu_units, 1U);
    EXPECT_EQ(ivrs->memory_definitions, 1U);
}

TEST(AcpiHeader, RejectsChecksumMismatch) {
    std::string table = fixture("intel-laptop/sys/firmware/acpi/tables/DMAR");
    table[40] = static_cast<char>(table[40] ^ 0x01);
    auto dmar = parse_dmar(table);
    ASSERT_FALSE(dmar);
    EXPECT_NE(dmar.error().message.find("DMAR table: checksum mismatch"), std::string::npos) << dmar.error().message;
}

TEST(AcpiHeader, RejectsLengthThatDoesNotMatch) {
    const std::string table = fixture("intel-laptop/sys/firmware/acpi/tables/DMAR") + "extra";
    auto dmar = parse_dmar(table);
    ASSERT_FALSE(dmar);
    EXPECT_EQ(dmar.error().message, "DMAR table: header length 128 does not match the 133 bytes read");
}

TEST(AcpiHeader, RejectsWrongSignature) {
    auto dmar = parse_dmar(fixture("amd-desktop/sys/firmware/acpi/tables/IVRS"));
    ASSERT_FALSE(dmar);
    EXPECT_EQ(dmar.error().message, "DMAR table: signature is 'IVRS'");
}

TEST(AcpiHeader, RejectsShortAndHugeTables) {
    auto tiny = parse_dmar("DMAR");
    ASSERT_FALSE(tiny);
    EXPECT_EQ(tiny.error().message, "DMAR table: only 4 bytes, shorter than the 36-byte ACPI header");
    auto huge = parse_ivrs(std::string(kMaxAcpiTableBytes + 1, '\0'));
    ASSERT_FALSE(huge);
    EXPECT_EQ(huge.error().code, ErrorCode::too_large);
}

TEST(Dmar, RejectsZeroLengthStructureInsteadOfLooping) {
    std::string table = fixture("intel-laptop/sys/firmware/acpi/tables/DMAR");
    put_u16(table, 48 + 2, 0);  // first DRHD's length
    auto dmar = parse_dmar(refit(table));
    ASSERT_FALSE(dmar);
    EXPECT_EQ(dmar.error().message, "DMAR table: structure at offset 48 has invalid length 0");
}

TEST(Dmar, RejectsStructureRunningPastTheEnd) {
    std::string table = fixture("intel-laptop/sys/firmware/acpi/tables/DMAR");
    put_u16(table, 48 + 2, 200);
    auto dmar = parse_dmar(refit(table));
    ASSERT_FALSE(dmar);
    EXPECT_EQ(dmar.error().message, "DMAR table: structure at offset 48 has invalid length 200");
}

TEST(Dmar, RejectsBadDeviceScope) {
    std::string table = fixture("intel-laptop/sys/firmware/acpi/tables/DMAR");
    table[48 + 16 + 1] = 7;  // device scope length must be 6 + 2n
    auto dmar = parse_dmar(refit(table));
    ASSERT_FALSE(dmar);
    EXPECT_EQ(dmar.error().message, "DMAR table: structure at offset 48: device scope with invalid length 7");
}

TEST(Dmar, RejectsTruncatedStructureHeader) {
    std::string table = fixture("intel-laptop/sys/firmware/acpi/tables/DMAR").substr(0, 48) + "ab";
    auto dmar = parse_dmar(refit(table));
    ASSERT_FALSE(dmar);
    EXPECT_EQ(dmar.error().message, "DMAR table: truncated structure header at offset 48");
}

TEST(Dmar, EveryTruncationFailsCleanly) {
    const std::string table = fixture("intel-laptop/sys/firmware/acpi/tables/DMAR");
    for (std::size_t size = kAcpiHeaderBytes; size < table.size(); ++size) {
        auto truncated = parse_dmar(refit(table.substr(0, size)));
        // Cutting exactly between structures leaves a valid, smaller table.
        if (size == 48 || size == 72 || size == 96) {
            EXPECT_TRUE(truncated) << size;
        } else {
            EXPECT_FALSE(truncated) << size;
        }
    }
}

TEST(Ivrs, RejectsShortIvhd) {
    std::string table = fixture("amd-desktop/sys/firmware/acpi/tables/IVRS");
    put_u16(table, 48 + 2, 20);
    auto ivrs = parse_ivrs(refit(table));
    ASSERT_FALSE(ivrs);
    EXPECT_EQ(ivrs.error().message, "IVRS table: block type 0x11 at offset 48: IVHD shorter than 40 bytes");
}

TEST(Ivrs, SkipsUnknownBlockTypes) {
    std::string table = fixture("amd-desktop/sys/firmware/acpi/tables/IVRS");
    table += std::string("\x99\x00\x08\x00\x00\x00\x00\x00", 8);
    auto ivrs = parse_ivrs(refit(table));
    ASSERT_TRUE(ivrs) << ivrs.error().message;
    EXPECT_EQ(ivrs->other_blocks, 1U);
    EXPECT_EQ(ivrs->iommu_units, 1U);
}

}  // namespace
}  // namespace bulkhead::hcl
