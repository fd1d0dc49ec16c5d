#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "initrd/boot_args.hpp"
#include "initrd/partitions.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::initrd {
namespace {

const std::string kHash = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";

TEST(BootArgs, TheRootHashAndVersionAreRead) {
    auto args = parse_boot_args("console=ttyS0 bulkhead.verity=" + kHash +
                                " quiet bulkhead.version=2026.11.27-1 bulkhead.security=65535\n");
    ASSERT_TRUE(args) << args.error().message;
    EXPECT_EQ(hex_encode(args->root_hash), kHash);
    EXPECT_EQ(args->version, "2026.11.27-1");
    EXPECT_EQ(args->security_version, 65535U);
    auto zero = parse_boot_args("bulkhead.security=0 bulkhead.verity=" + kHash + " bulkhead.version=1");
    ASSERT_TRUE(zero) << zero.error().message;
    EXPECT_EQ(zero->security_version, 0U);
}

TEST(BootArgs, AnythingElseIsRefused) {
    const std::string version = " bulkhead.version=1 bulkhead.security=1";
    const std::string hash_and_version = "bulkhead.verity=" + kHash + " bulkhead.version=1";
    for (const std::string& line :
         {std::string("bulkhead.verity=") + kHash,        // no version
          hash_and_version,                               // no security version
          hash_and_version + " bulkhead.security=",       // empty
          hash_and_version + " bulkhead.security=65536",  // above the range
          hash_and_version + " bulkhead.security=01",     // not canonical
          hash_and_version + " bulkhead.security=-1",     // not a digit
          hash_and_version + " bulkhead.security=99999999999999999999",
          hash_and_version + " bulkhead.security=1 bulkhead.security=1",
          "quiet" + version,                               // no hash
          "bulkhead.verity=" + kHash.substr(2) + version,  // short
          "bulkhead.verity=" + kHash.substr(0, 62) + "zz" + version,
          "bulkhead.verity=" + kHash + " bulkhead.verity=" + kHash + version,
          "bulkhead.verity=" + kHash + " bulkhead.version=a/b", "bulkhead.verity=" + kHash + " bulkhead.version=",
          "bulkhead.verity=" + kHash + version + " bulkhead.shell=1", std::string(5000, 'x')}) {
        EXPECT_FALSE(parse_boot_args(line)) << line;
    }
}

// A fake /sys and /dev: one disk with our GPT, the kernel's partition numbering in sysfs.
class FindPartitions : public ::testing::Test {
protected:
    void SetUp() override {
        root_hash = *hex_decode(kHash);
        gpt::DiskLayout layout;
        layout.partitions = {
            {"esp", *gpt::parse_guid(gpt::kEspType), gpt::guid_from_bytes("esp-esp-esp-esp-"), 1 << 20, 0},
            {"root-a", *gpt::parse_guid(gpt::kRootType), root_partition_uuid(root_hash), 1 << 20, 0},
            {"verity-a", *gpt::parse_guid(gpt::kRootVerityType), verity_partition_uuid(root_hash), 1 << 20, 0},
        };
        const std::string disk = (dir.path() / "dev/vda").string();
        dir.mkdir("dev");
        const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(gpt::disk_bytes(layout))), 0);
        ASSERT_TRUE(gpt::write_partition_table(fd.get(), layout));
        dir.write("sys/block/vda/size", std::to_string(gpt::disk_bytes(layout) / 512) + "\n");
        for (int n = 1; n <= 3; ++n)
            dir.write("sys/block/vda/vda" + std::to_string(n) + "/partition", std::to_string(n) + "\n");
        dir.write("sys/block/vdb/size", "8\n");  // too small to matter
    }

    const testing::TempDir dir;
    std::string root_hash;
};

TEST_F(FindPartitions, TheRootAndVerityPartitionsAreFoundByTheirUuids) {
    auto found = find_partitions((dir.path() / "sys").string(), (dir.path() / "dev").string(),
                                 root_partition_uuid(root_hash), verity_partition_uuid(root_hash));
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->root, (dir.path() / "dev/vda2").string());
    EXPECT_EQ(found->verity, (dir.path() / "dev/vda3").string());
    EXPECT_EQ(gpt::guid_text(root_partition_uuid(root_hash)), "00112233-4455-4677-8899-aabbccddeeff");
}

TEST_F(FindPartitions, AnotherImagesPartitionsAreNotFound) {
    const std::string other = std::string(16, '\x07') + std::string(16, '\x08');
    auto missing = find_partitions((dir.path() / "sys").string(), (dir.path() / "dev").string(),
                                   root_partition_uuid(other), verity_partition_uuid(other));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace bulkhead::initrd
