// Finding update media in a stand-in for /sys/block and /dev: only whole, real, unpartitioned,
// non-empty disks that start with the bundle magic count.
#include "update/media.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bundle/bundle.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::update {
namespace {

namespace fs = std::filesystem;

class UpdateMedia : public ::testing::Test {
protected:
    testing::TempDir dir;

    // A disk as the kernel shows it: /sys/block/NAME with `size` (and a `device` link when it
    // is a real device), and its node in /dev holding `contents`.
    void disk(const std::string& name, const std::string& contents, bool real = true, const std::string& size = "8\n",
              const std::vector<std::string>& partitions = {}) {
        dir.write("sys/" + name + "/size", size);
        if (real) {
            fs::create_directories(dir.path() / "devices/fake" / name);
            fs::create_directory_symlink("../../devices/fake/" + name, dir.path() / "sys" / name / "device");
        }
        for (const std::string& partition : partitions)
            dir.write("sys/" + name + "/" + partition + "/partition", "1\n");
        dir.write("dev/" + name, contents);
    }
    Result<std::vector<std::string>> find() {
        return find_update_media((dir.path() / "sys").string(), (dir.path() / "dev").string());
    }
    std::string device(const std::string& name) { return (dir.path() / "dev" / name).string(); }
};

TEST_F(UpdateMedia, FindsOnlyWholeRealDisksStartingWithTheMagic) {
    const std::string bundle = std::string(bundle::kMagic) + std::string(504, '\0');
    disk("vda", bundle, true, "2457600\n", {"vda1", "vda2"});  // the core's own disk: partitioned
    disk("vdb", bundle);                                       // an update medium
    disk("vdc", std::string(512, '\0'));                       // another disk
    disk("loop0", bundle, false);                              // not a real device
    disk("vdd", bundle, true, "0\n");                          // empty (a card reader without card)
    disk("sdb", "BLKHDBN");                                    // too short to hold the magic
    disk("sda", bundle);
    dir.write("sys/dm-0/size", "8\n");  // names outside [a-z0-9] are never opened
    fs::create_directories(dir.path() / "devices/fake/dm-0");
    fs::create_directory_symlink("../../devices/fake/dm-0", dir.path() / "sys/dm-0/device");
    dir.write("dev/dm-0", bundle);
    auto found = find();
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(*found, (std::vector<std::string>{device("sda"), device("vdb")}));
}

TEST_F(UpdateMedia, ADiskThatCannotBeOpenedIsSkipped) {
    disk("vdb", std::string(bundle::kMagic));
    fs::remove(dir.path() / "dev/vdb");
    // A link to a file that does start with the magic: never followed.
    fs::create_symlink(dir.write("elsewhere", std::string(bundle::kMagic) + "rest"), dir.path() / "dev/vdb");
    auto found = find();
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_TRUE(found->empty());
}

TEST_F(UpdateMedia, NoSysfsIsAnError) {
    auto found = find_update_media((dir.path() / "missing").string(), (dir.path() / "dev").string());
    ASSERT_FALSE(found);
    EXPECT_NE(found.error().message.find("missing"), std::string::npos) << found.error().message;
}

}  // namespace
}  // namespace bulkhead::update
