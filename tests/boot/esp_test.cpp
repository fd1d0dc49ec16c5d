// The EFI system partition changed through mtools inside a real FAT file system at an offset
// of a disk image, as on the core's disk.
#include "boot/esp.hpp"

#include <gtest/gtest.h>

#include "base/process.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::boot {
namespace {

class EspTest : public ::testing::Test {
protected:
    void SetUp() override {
        disk = (dir.path() / "disk.img").string();
        ASSERT_TRUE(run_program_checked({"/usr/bin/truncate", "-s", "40M", disk}));
        // FAT32 one MiB into the disk, where the ESP of our layout starts.
        ASSERT_TRUE(run_program_checked({"/usr/sbin/mkfs.vfat", "-F", "32", "--offset", "2048", disk}));
        dir.write("uki.efi", "signed kernel image");
    }

    testing::TempDir dir;
    std::string disk;
};

TEST_F(EspTest, FilesAreWrittenRenamedListedAndRemoved) {
    const Esp esp(disk, 1 << 20);
    auto missing = esp.list("EFI/Linux");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
    ASSERT_TRUE(esp.make_dirs({"EFI", "EFI/Linux"}));
    auto empty = esp.list("EFI/Linux");
    ASSERT_TRUE(empty) << empty.error().message;
    EXPECT_TRUE(empty->empty());

    auto put = esp.put((dir.path() / "uki.efi").string(), "EFI/Linux/bulkhead-2+3.efi");
    ASSERT_TRUE(put) << put.error().message;
    EXPECT_FALSE(esp.put((dir.path() / "uki.efi").string(), "EFI/Linux/bulkhead-2+3.efi")) << "overwrote a file";
    auto renamed = esp.rename("EFI/Linux/bulkhead-2+3.efi", "bulkhead-2.efi");
    ASSERT_TRUE(renamed) << renamed.error().message;
    auto names = esp.list("EFI/Linux");
    ASSERT_TRUE(names);
    EXPECT_EQ(*names, std::vector<std::string>{"bulkhead-2.efi"});
    ASSERT_TRUE(esp.get("EFI/Linux/bulkhead-2.efi", (dir.path() / "back.efi").string()));
    EXPECT_EQ(testing::read_whole_file(dir.path() / "back.efi"), "signed kernel image");
    EXPECT_FALSE(esp.get("EFI/Linux/bulkhead-2.efi", (dir.path() / "back.efi").string())) << "overwrote a local file";

    // The file system is at the offset, not at the start of the disk.
    EXPECT_FALSE(Esp(disk, 0).list("EFI/Linux"));
    ASSERT_TRUE(esp.remove("EFI/Linux/bulkhead-2.efi"));
    names = esp.list("EFI/Linux");
    ASSERT_TRUE(names);
    EXPECT_TRUE(names->empty());
    EXPECT_FALSE(esp.remove("EFI/Linux/bulkhead-2.efi"));
}

}  // namespace
}  // namespace bulkhead::boot
