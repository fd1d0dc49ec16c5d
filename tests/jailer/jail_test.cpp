// The jailer, for real: a process started by it runs as the given uid with no capabilities at
// all, no_new_privs, in its own cgroup leaf, network, mount and PID namespaces, and sees only
// its jail. Needs root (as the manager has), like CI.
#include "jailer/jail.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "base/file_io.hpp"
#include "support/proc_status.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::jailer {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kAppUid = 600123;
using bulkhead::testing::status_field;

class JailTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "the jailer needs root, as bulkheadd has";
        root = dir.mkdir("jail");
        fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
        // Debian's merged /usr: the dynamic loader and libraries are found through these.
        for (const char* link : {"lib", "lib64", "bin"})
            fs::create_directory_symlink(std::string("usr/") + link, root / link);
        name = "test-" + std::to_string(::getpid());
    }

    JailSpec sleeper(const std::string& seconds) const {
        JailSpec spec;
        spec.uid = kAppUid;
        spec.gid = kAppUid;
        spec.root = root.string();
        spec.binds = {{"/usr", "/usr", false}};
        spec.devices = {"/dev/null"};
        spec.argv = {"/usr/bin/sleep", seconds};
        spec.env = {"PATH=/usr/bin"};
        return spec;
    }

    const bulkhead::testing::TempDir dir;
    fs::path root;
    std::string name;
};

TEST_F(JailTest, TheProcessHasNoPrivilegeAndItsOwnEverything) {
    auto cgroup = Cgroup::create("/sys/fs/cgroup", name, {256 << 20, 32, 50});
    ASSERT_TRUE(cgroup) << cgroup.error().message;
    auto jailed = spawn_jailed(sleeper("5"), *cgroup);
    ASSERT_TRUE(jailed) << jailed.error().message;
    const pid_t pid = jailed->pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // past exec
    EXPECT_EQ(status_field(pid, "Uid"), "600123\t600123\t600123\t600123");
    EXPECT_EQ(status_field(pid, "Gid"), "600123\t600123\t600123\t600123");
    EXPECT_EQ(status_field(pid, "Groups"), "");
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
        EXPECT_EQ(status_field(pid, set), "0000000000000000") << set;
    }
    EXPECT_EQ(status_field(pid, "NoNewPrivs"), "1");
    EXPECT_EQ(status_field(pid, "NSpid"), std::to_string(pid) + "\t1");  // PID 1 of its own namespace
    for (const char* ns : {"net", "mnt", "pid", "ipc", "uts", "cgroup"}) {
        EXPECT_NE(fs::read_symlink("/proc/self/ns/" + std::string(ns)),
                  fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + ns))
            << ns;
    }
    auto cgroups = read_file_bounded("/proc/" + std::to_string(pid) + "/cgroup", 65536);
    ASSERT_TRUE(cgroups);
    EXPECT_NE(cgroups->find("/bulkhead/" + name), std::string::npos) << *cgroups;
    // Its root is the jail: the host's /etc is not there.
    EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid) + "/root/etc/passwd"));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    EXPECT_TRUE(cgroup->remove());
}

// Only the passed descriptors reach the VMM, at their numbers, whatever numbers they had.
TEST_F(JailTest, OnlyPassedDescriptorsAreInherited) {
    auto cgroup = Cgroup::create("/sys/fs/cgroup", name, {64 << 20, 8, 10});
    ASSERT_TRUE(cgroup) << cgroup.error().message;
    const int stray = ::open("/dev/null", O_RDONLY);  // inheritable, never passed
    ASSERT_GE(stray, 0);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const int zero_fd = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE(null_fd >= 0 && zero_fd >= 0);
    JailSpec spec = sleeper("5");
    spec.pass_fds = {{null_fd, zero_fd}, {zero_fd, null_fd}};  // each lands on the other's number
    auto jailed = spawn_jailed(spec, *cgroup);
    ASSERT_TRUE(jailed) << jailed.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string fd_dir = "/proc/" + std::to_string(jailed->pid) + "/fd/";
    std::set<std::string> fds;
    for (const auto& entry : fs::directory_iterator(fd_dir)) fds.insert(entry.path().filename().string());
    EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", std::to_string(null_fd), std::to_string(zero_fd)}));
    EXPECT_EQ(fs::read_symlink(fd_dir + std::to_string(zero_fd)), "/dev/null");
    EXPECT_EQ(fs::read_symlink(fd_dir + std::to_string(null_fd)), "/dev/zero");
    ::kill(jailed->pid, SIGKILL);
    ::waitpid(jailed->pid, nullptr, 0);
    for (const int fd : {stray, null_fd, zero_fd}) ::close(fd);
    EXPECT_TRUE(cgroup->remove());
}

// A read-only bind is read-only all the way down, submounts included.
TEST_F(JailTest, ReadOnlyBindsAreReadOnlyWithTheirSubmounts) {
    const fs::path data = dir.mkdir("data");
    const fs::path inner = dir.mkdir("data/inner");
    ASSERT_EQ(::mount("tmpfs", inner.c_str(), "tmpfs", 0, "size=1m,mode=1777"), 0);
    auto cgroup = Cgroup::create("/sys/fs/cgroup", name, {64 << 20, 8, 10});
    ASSERT_TRUE(cgroup) << cgroup.error().message;
    auto touch = [&](bool writable) {
        JailSpec spec = sleeper("1");
        spec.binds.push_back({data.string(), "/data", writable});
        spec.argv = {"/usr/bin/touch", "/data/inner/file"};
        auto jailed = spawn_jailed(spec, *cgroup);
        EXPECT_TRUE(jailed) << jailed.error().message;
        int status = -1;
        if (jailed) ::waitpid(jailed->pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    EXPECT_NE(touch(false), 0);
    EXPECT_FALSE(fs::exists(inner / "file"));
    EXPECT_EQ(touch(true), 0);  // the same bind, writable: the failure above was the mount's
    EXPECT_TRUE(fs::exists(inner / "file"));
    ::umount2(inner.c_str(), MNT_DETACH);
    EXPECT_TRUE(cgroup->remove());
}

TEST_F(JailTest, ASetUpFailureIsReportedWithItsStep) {
    auto cgroup = Cgroup::create("/sys/fs/cgroup", name, {64 << 20, 8, 10});
    ASSERT_TRUE(cgroup) << cgroup.error().message;
    JailSpec missing = sleeper("1");
    missing.binds.push_back({"/nonexistent/kernel", "/vm/kernel", false});
    auto refused = spawn_jailed(missing, *cgroup);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("/vm/kernel"), std::string::npos) << refused.error().message;

    JailSpec as_root = sleeper("1");
    as_root.uid = 0;
    EXPECT_FALSE(spawn_jailed(as_root, *cgroup));
    JailSpec open_root = sleeper("1");
    fs::permissions(root, fs::perms::others_write, fs::perm_options::add);
    auto writable = spawn_jailed(open_root, *cgroup);
    ASSERT_FALSE(writable);
    EXPECT_NE(writable.error().message.find("writable only by it"), std::string::npos);
    EXPECT_TRUE(cgroup->remove());
}

TEST_F(JailTest, ExecFailureIsReported) {
    auto cgroup = Cgroup::create("/sys/fs/cgroup", name, {64 << 20, 8, 10});
    ASSERT_TRUE(cgroup);
    JailSpec spec = sleeper("1");
    spec.argv = {"/usr/bin/no-such-program"};
    auto refused = spawn_jailed(spec, *cgroup);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("exec"), std::string::npos) << refused.error().message;
    EXPECT_TRUE(cgroup->remove());
}

}  // namespace
}  // namespace bulkhead::jailer
