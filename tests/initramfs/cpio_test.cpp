#include "initramfs/cpio.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::initramfs {
namespace {

std::string sample() {
    CpioWriter writer;
    EXPECT_TRUE(writer.add_directory("dev"));
    EXPECT_TRUE(writer.add_char_device("dev/console", 5, 1));
    EXPECT_TRUE(writer.add_directory("bin"));
    EXPECT_TRUE(writer.add_file("init", "#!/bin/sh\necho hi\n", 0755));
    EXPECT_TRUE(writer.add_file("bin/empty", ""));
    EXPECT_TRUE(writer.add_symlink("bin/sh", "/init"));
    return writer.finish();
}

TEST(Cpio, HeaderLayoutIsNewc) {
    const std::string archive = sample();
    EXPECT_EQ(archive.substr(0, 6), "070701");
    EXPECT_EQ(archive.size() % 512, 0U);
    EXPECT_NE(archive.find("TRAILER!!!"), std::string::npos);
    EXPECT_EQ(sample(), archive) << "the same entries give the same bytes";
}

// GNU cpio, an independent reader, lists and unpacks what we wrote.
TEST(Cpio, GnuCpioReadsIt) {
    const bulkhead::testing::TempDir dir;
    const auto archive = dir.write("archive.cpio", sample());
    const auto listed = bulkhead::testing::run_process({"/bin/sh", "-c", "cpio -itv --quiet < " + archive.string()});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_NE(listed.out.find("crw-------"), std::string::npos) << listed.out;
    EXPECT_NE(listed.out.find("5,   1"), std::string::npos) << listed.out;
    EXPECT_NE(listed.out.find("-rwxr-xr-x"), std::string::npos) << listed.out;
    EXPECT_NE(listed.out.find("bin/sh -> /init"), std::string::npos) << listed.out;
    const auto unpacked =
        bulkhead::testing::run_process({"/bin/sh", "-c",
                                        "cd " + dir.str() +
                                            " && mkdir out && cd out && cpio -id --quiet --no-absolute-filenames "
                                            "--nonmatching 'dev/console' < " +
                                            archive.string()});
    ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
    EXPECT_EQ(bulkhead::testing::read_whole_file(dir.path() / "out/init"), "#!/bin/sh\necho hi\n");
    EXPECT_TRUE(std::filesystem::is_symlink(dir.path() / "out/bin/sh"));
}

TEST(Cpio, BadPathsAreRefused) {
    CpioWriter writer;
    for (const std::string path : {"", "/abs", "a/", "a//b", "../x", "a/./b"}) {
        EXPECT_FALSE(writer.add_file(path, "x")) << path;
    }
    EXPECT_FALSE(writer.add_file("missing/parent", "x"));
    EXPECT_TRUE(writer.add_file("once", "x"));
    EXPECT_FALSE(writer.add_file("once", "x"));
}

}  // namespace
}  // namespace bulkhead::initramfs
