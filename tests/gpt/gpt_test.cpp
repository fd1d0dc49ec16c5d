// Our GPT writer read back by util-linux's sfdisk and checked by gdisk's sgdisk (CRCs, backup
// table, overlaps).
#include "gpt/gpt.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/process.hpp"
#include "base/unique_fd.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::gpt {
namespace {

Guid guid(std::string_view text) {
    auto parsed = parse_guid(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? *parsed : Guid{};
}

DiskLayout sample_layout() {
    DiskLayout layout;
    layout.disk_guid = guid("11111111-2222-4333-8444-555555555555");
    layout.partitions = {
        {"esp", guid(kEspType), guid("0a0a0a0a-0b0b-4c0c-8d0d-0e0e0e0e0e0e"), 3 << 20, 0},
        {"root-a", guid(kRootType), guid_from_bytes(std::string(32, '\x42')), 2 << 20, kReadOnlyAttribute},
        {"verity-a", guid(kRootVerityType), guid("deadbeef-0000-4000-8000-00000000abcd"), 1 << 20, kReadOnlyAttribute},
    };
    return layout;
}

TEST(Gpt, GuidsRoundTripAndDeriveFromHashes) {
    EXPECT_EQ(guid_text(guid("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    EXPECT_FALSE(parse_guid("c12a7328f81f11d2ba4b00a0c93ec93b"));
    EXPECT_FALSE(parse_guid("c12a7328-f81f-11d2-ba4b-00a0c93ec93g"));
    EXPECT_EQ(guid_text(guid_from_bytes(std::string(16, '\xff'))), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST(Gpt, SfdiskAndSgdiskReadWhatWeWrite) {
    const testing::TempDir dir;
    const DiskLayout layout = sample_layout();
    const std::string disk = (dir.path() / "disk.img").string();
    {
        const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(disk_bytes(layout))), 0);
        auto placed = write_partition_table(fd.get(), layout);
        ASSERT_TRUE(placed) << placed.error().message;
        ASSERT_EQ(placed->size(), 3U);
        EXPECT_EQ((*placed)[0].offset(), 1U << 20);
        EXPECT_EQ((*placed)[1].offset(), 4U << 20);
        EXPECT_EQ((*placed)[2].size(), 1U << 20);
    }
    auto verified = run_program({"/usr/sbin/sgdisk", "--verify", disk});
    ASSERT_TRUE(verified);
    EXPECT_NE(verified->out.find("No problems found"), std::string::npos) << verified->out << verified->err;

    auto dumped = run_program_checked({"/usr/sbin/sfdisk", "--json", disk});
    ASSERT_TRUE(dumped) << dumped.error().message;
    const auto table = nlohmann::json::parse(dumped->out).at("partitiontable");
    EXPECT_EQ(table.at("label"), "gpt");
    EXPECT_EQ(table.at("id"), "11111111-2222-4333-8444-555555555555");
    const auto& partitions = table.at("partitions");
    ASSERT_EQ(partitions.size(), 3U);
    for (std::size_t i = 0; i < 3; ++i) {
        const PartitionSpec& spec = layout.partitions[i];
        EXPECT_EQ(partitions[i].at("name"), spec.name);
        EXPECT_EQ(partitions[i].at("uuid").get<std::string>(), [&] {
            std::string text = guid_text(spec.uuid);
            for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return text;
        }());
        std::string type = guid_text(spec.type);
        for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        EXPECT_EQ(partitions[i].at("type").get<std::string>(), type);
        EXPECT_EQ(partitions[i].at("size").get<std::uint64_t>() * 512, spec.size_bytes);
    }
    EXPECT_EQ(partitions[0].at("start"), 2048);
    EXPECT_EQ(partitions[1].value("attrs", ""), "GUID:60");
}

TEST(Gpt, WhatWeWriteReadsBackAndDamageIsFound) {
    const testing::TempDir dir;
    const DiskLayout layout = sample_layout();
    const std::string disk = (dir.path() / "disk.img").string();
    const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(disk_bytes(layout))), 0);
    auto placed = write_partition_table(fd.get(), layout);
    ASSERT_TRUE(placed);
    auto entries = read_partition_table(fd.get(), disk_bytes(layout));
    ASSERT_TRUE(entries) << entries.error().message;
    ASSERT_EQ(entries->size(), 3U);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ((*entries)[i].number, i + 1);
        EXPECT_EQ((*entries)[i].name, layout.partitions[i].name);
        EXPECT_EQ((*entries)[i].type, layout.partitions[i].type);
        EXPECT_EQ((*entries)[i].uuid, layout.partitions[i].uuid);
        EXPECT_EQ((*entries)[i].first_lba, (*placed)[i].first_lba);
        EXPECT_EQ((*entries)[i].last_lba, (*placed)[i].last_lba);
        EXPECT_EQ((*entries)[i].attributes, layout.partitions[i].attributes);
    }
    const std::string good = testing::read_whole_file(disk).substr(0, 34 * 512);
    auto damaged = [&](std::size_t at) {
        std::string copy = good;
        copy[at] = static_cast<char>(copy[at] ^ 0x10);
        return parse_partition_table(copy, disk_bytes(layout));
    };
    EXPECT_FALSE(damaged(512));         // signature
    EXPECT_FALSE(damaged(512 + 40));    // a header field: its CRC no longer matches
    EXPECT_FALSE(damaged(1024 + 130));  // an entry: the entries' CRC no longer matches
    EXPECT_FALSE(parse_partition_table(good.substr(0, 1000), disk_bytes(layout)));
    EXPECT_FALSE(parse_partition_table(good, 1 << 20));  // a disk smaller than the table says
}

TEST(Gpt, UuidsChangeWithBothCopiesAndATornPrimaryFallsBackToTheBackup) {
    const testing::TempDir dir;
    const DiskLayout layout = sample_layout();
    const std::string disk = (dir.path() / "disk.img").string();
    const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(disk_bytes(layout))), 0);
    ASSERT_TRUE(write_partition_table(fd.get(), layout));
    const Guid new_root = guid_from_bytes(std::string(16, '\x17'));
    const Guid new_verity = guid_from_bytes(std::string(16, '\x29'));
    auto changed = set_partition_uuids(fd.get(), disk_bytes(layout), {{2, new_root}, {3, new_verity}});
    ASSERT_TRUE(changed) << changed.error().message;
    auto entries = read_partition_table(fd.get(), disk_bytes(layout));
    ASSERT_TRUE(entries) << entries.error().message;
    EXPECT_EQ((*entries)[0].uuid, layout.partitions[0].uuid);
    EXPECT_EQ((*entries)[1].uuid, new_root);
    EXPECT_EQ((*entries)[2].uuid, new_verity);
    // Independent readers agree, and find both copies consistent.
    auto verified = run_program({"/usr/sbin/sgdisk", "--verify", disk});
    ASSERT_TRUE(verified);
    EXPECT_NE(verified->out.find("No problems found"), std::string::npos) << verified->out << verified->err;
    auto dumped = run_program_checked({"/usr/sbin/sfdisk", "--json", disk});
    ASSERT_TRUE(dumped);
    std::string expected = guid_text(new_root);
    for (char& c : expected) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(nlohmann::json::parse(dumped->out).at("partitiontable").at("partitions")[1].at("uuid"), expected);

    // A crash in the middle of the primary's rewrite: its entries are torn. The backup, written
    // first, still gives the whole table.
    const Guid newer_root = guid_from_bytes(std::string(16, '\x33'));
    ASSERT_TRUE(set_partition_uuids(fd.get(), disk_bytes(layout), {{2, newer_root}}));
    const char junk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    ASSERT_EQ(::pwrite(fd.get(), junk, sizeof junk, 2 * 512 + 128 + 16), static_cast<ssize_t>(sizeof junk));
    auto torn = read_partition_table(fd.get(), disk_bytes(layout));
    ASSERT_TRUE(torn) << torn.error().message;
    EXPECT_EQ((*torn)[1].uuid, newer_root);
    // The next change repairs the primary from the backup.
    ASSERT_TRUE(set_partition_uuids(fd.get(), disk_bytes(layout), {{3, new_root}}));
    const std::string first = testing::read_whole_file(disk).substr(0, 34 * 512);
    auto primary = parse_partition_table(first, disk_bytes(layout));
    ASSERT_TRUE(primary) << primary.error().message;
    EXPECT_EQ((*primary)[1].uuid, newer_root);
    EXPECT_EQ((*primary)[2].uuid, new_root);

    // Refused, with nothing changed: a UUID another partition keeps, a partition that does not exist.
    const std::string before = testing::read_whole_file(disk);
    EXPECT_FALSE(set_partition_uuids(fd.get(), disk_bytes(layout), {{2, layout.partitions[0].uuid}}));
    EXPECT_FALSE(set_partition_uuids(fd.get(), disk_bytes(layout), {{9, new_verity}}));
    EXPECT_EQ(testing::read_whole_file(disk), before);
    // Both copies damaged: no table.
    ASSERT_EQ(::pwrite(fd.get(), junk, sizeof junk, static_cast<off_t>(disk_bytes(layout) - 512 - 32 * 512 + 200)),
              static_cast<ssize_t>(sizeof junk));
    ASSERT_EQ(::pwrite(fd.get(), junk, sizeof junk, 2 * 512 + 200), static_cast<ssize_t>(sizeof junk));
    EXPECT_FALSE(read_partition_table(fd.get(), disk_bytes(layout)));
}

TEST(Gpt, BadLayoutsAreRefused) {
    DiskLayout layout = sample_layout();
    layout.partitions[0].size_bytes = 12345;
    EXPECT_FALSE(place(layout));
    layout = sample_layout();
    layout.partitions[0].name = std::string(37, 'n');
    EXPECT_FALSE(place(layout));
    layout.partitions.clear();
    EXPECT_FALSE(place(layout));
}

}  // namespace
}  // namespace bulkhead::gpt
