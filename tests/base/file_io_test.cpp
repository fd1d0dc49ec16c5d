#include "base/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace bulkhead {
namespace {

using testing::read_whole_file;
using testing::TempDir;

TEST(ReadFileBounded, ReadsWholeFile) {
    const TempDir dir;
    const auto file = dir.write("a.txt", std::string(40000, 'x'));
    auto data = read_file_bounded(file.string(), 40000);
    ASSERT_TRUE(data) << data.error().message;
    EXPECT_EQ(data->size(), 40000U);
}

TEST(ReadFileBounded, RefusesMoreThanTheBound) {
    const TempDir dir;
    const auto file = dir.write("a.txt", std::string(40001, 'x'));
    auto data = read_file_bounded(file.string(), 40000);
    ASSERT_FALSE(data);
    EXPECT_EQ(data.error().code, ErrorCode::too_large);
    EXPECT_NE(data.error().message.find("limit of 40000 bytes"), std::string::npos);
}

TEST(ReadFileBounded, EndlessDeviceIsCutOff) {
    auto data = read_file_bounded("/dev/zero", 1 << 20);
    ASSERT_FALSE(data);
    EXPECT_EQ(data.error().code, ErrorCode::too_large);
}

TEST(ReadFileBounded, MissingFileIsNotFound) {
    auto data = read_file_bounded("/nonexistent/bulkhead", 10);
    ASSERT_FALSE(data);
    EXPECT_EQ(data.error().code, ErrorCode::not_found);
    EXPECT_NE(data.error().message.find("/nonexistent/bulkhead"), std::string::npos);
}

TEST(WriteFileAtomically, ReplacesContentsAndMode) {
    const TempDir dir;
    const auto file = dir.write("state.json", "old");
    ASSERT_TRUE(write_file_atomically(file.string(), "new contents", 0600));
    EXPECT_EQ(read_whole_file(file), "new contents");
    struct stat info {};
    ASSERT_EQ(::stat(file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0600U);
    // No temporary file is left behind.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(WriteFileAtomically, FailureLeavesTargetUntouched) {
    const TempDir dir;
    const auto target = dir.mkdir("occupied");  // a directory cannot be replaced by a file
    dir.write("occupied/keep", "x");
    auto written = write_file_atomically(target.string(), "data", 0644);
    ASSERT_FALSE(written);
    EXPECT_TRUE(std::filesystem::is_directory(target));
    EXPECT_EQ(read_whole_file(target / "keep"), "x");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(WriteFileAtomically, RejectsPathWithoutFileName) {
    auto written = write_file_atomically("/tmp/", "data", 0644);
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace bulkhead
