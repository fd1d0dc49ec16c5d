#include "base/rooted_dir.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace bulkhead {
namespace {

using testing::TempDir;

TEST(RootedDir, ReadsAndListsInsideTheTree) {
    const TempDir dir;
    dir.write("proc/cpuinfo", "processor : 0\n");
    dir.write("sys/class/tpm/tpm0/tpm_version_major", "2\n");
    dir.write("sys/class/tpm/tpm1/tpm_version_major", "2\n");
    auto root = RootedDir::open(dir.str());
    ASSERT_TRUE(root) << root.error().message;
    auto text = root->read("/proc/cpuinfo", 100);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "processor : 0\n");
    auto names = root->list("sys/class/tpm");
    ASSERT_TRUE(names);
    EXPECT_EQ(*names, (std::vector<std::string>{"tpm0", "tpm1"}));
    EXPECT_TRUE(root->exists("/sys/class"));
    EXPECT_EQ(root->exists("/sys/nothing").error().code, ErrorCode::not_found);
}

TEST(RootedDir, AbsoluteSymlinksResolveInsideTheTree) {
    const TempDir dir;
    dir.write("etc/hostname", "inside\n");
    std::filesystem::create_directories(dir.path() / "link");
    // An absolute symlink that would reach the real /etc/hostname if followed naively.
    std::filesystem::create_symlink("/etc/hostname", dir.path() / "link/abs");
    std::filesystem::create_symlink("../../../../../../etc/hostname", dir.path() / "link/dotdot");
    auto root = RootedDir::open(dir.str());
    ASSERT_TRUE(root);
    EXPECT_EQ(*root->read("/link/abs", 100), "inside\n");
    EXPECT_EQ(*root->read("/link/dotdot", 100), "inside\n");
    EXPECT_EQ(*root->read("/../../etc/hostname", 100), "inside\n");
}

TEST(RootedDir, MessagesNameTheFullPath) {
    const TempDir dir;
    auto root = RootedDir::open(dir.str());
    ASSERT_TRUE(root);
    auto missing = root->read("/proc/cpuinfo", 10);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find(dir.str() + "/proc/cpuinfo"), std::string::npos) << missing.error().message;
}

TEST(RootedDir, OpeningAMissingRootFails) {
    auto root = RootedDir::open("/nonexistent/bulkhead-root");
    ASSERT_FALSE(root);
    EXPECT_EQ(root.error().code, ErrorCode::not_found);
}

TEST(RootedDir, RealRootDisplaysPlainPaths) {
    auto root = RootedDir::open("/");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->display("proc/cpuinfo"), "/proc/cpuinfo");
}

}  // namespace
}  // namespace bulkhead
