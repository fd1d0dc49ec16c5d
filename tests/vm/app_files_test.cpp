// files grants end to end, with a real VM: a host directory shared read-only shows exactly that
// directory (its files; not a mount below it; no way out through symlinks) and cannot be
// written; paths through symlinks, the host's own trees and things that are not directories
// are refused at grant time. Needs root.
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "vm/bulkheadd_fixture.hpp"

namespace bulkhead {
namespace {

class AppFiles : public Bulkheadd {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "bulkheadd needs root";
        shared = dir.mkdir("shared");
        std::ofstream(shared / "note.txt") << "shared hello\n";
        std::ofstream(dir.path() / "secret.txt") << "outside the share\n";
        fs::create_symlink("/etc/hostname", shared / "escape");
        fs::create_symlink("../secret.txt", shared / "up");
        fs::create_directory(shared / "mounted");
        ASSERT_EQ(::mount("tmpfs", (shared / "mounted").c_str(), "tmpfs", 0, "size=64k"), 0);
        writable = dir.mkdir("writable");
        ASSERT_EQ(::mount("tmpfs", writable.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k"), 0);
        std::ofstream(shared / "mounted/hidden.txt") << "below a mount\n";
        const std::string in_vm = "/mnt/host" + shared.string();
        script = "busybox cat " + in_vm + "/note.txt; busybox ls " + in_vm + " | busybox tr '\\\\n' ' '; echo; " +
                 "busybox cat " + in_vm + "/escape || echo escape-blocked; busybox cat " + in_vm +
                 "/up || echo up-blocked; busybox ls " + in_vm + "/mounted | busybox grep -q hidden && echo " +
                 "mount-visible || echo mount-hidden; if echo x > " + in_vm +
                 "/new; then echo write-allowed; else echo write-refused; fi; echo from the guest > /mnt/host" +
                 writable.string() + "/made && echo rw-" + "written; exec busybox sleep 600";
        requested = "\"files\"";
        Bulkheadd::SetUp();
    }

    void TearDown() override {
        Bulkheadd::TearDown();
        (void)::umount2((shared / "mounted").c_str(), MNT_DETACH);
        (void)::umount2(writable.c_str(), MNT_DETACH);
    }

    fs::path shared;
    fs::path writable;  // on a nosuid mount, as a writable share must be
};

TEST_F(AppFiles, ReadOnlyShareShowsExactlyThatDirectory) {
    ASSERT_EQ(app({"add", definition}).exit_code, 0);

    // Refused at grant time, changing nothing.
    fs::create_directory_symlink(shared, dir.path() / "link");
    const auto through_link = app({"grant", name, "files:" + (dir.path() / "link").string(), "--yes"});
    EXPECT_NE(through_link.err.find("symbolic link"), std::string::npos) << through_link.err;
    EXPECT_NE(app({"grant", name, "files:/etc", "--yes"}).err.find("never shared"), std::string::npos);
    EXPECT_EQ(app({"grant", name, "files:/", "--yes"}).exit_code, 1);  // not even a share path
    EXPECT_NE(app({"grant", name, "files:" + (shared / "note.txt").string(), "--yes"}).err.find("not a directory"),
              std::string::npos);
    EXPECT_NE(app({"grant", name, "files:" + (dir.path() / "state").string(), "--yes"}).err.find("never shared"),
              std::string::npos);
    // A writable share on a mount that allows setuid programs is refused (/tmp here, or a
    // directory of its own on one).
    const fs::path suid_ok = dir.mkdir("suid-ok");
    ASSERT_EQ(::mount("tmpfs", suid_ok.c_str(), "tmpfs", 0, "size=64k"), 0);
    const auto setuid_mount = app({"grant", name, "files:" + suid_ok.string() + ":rw", "--yes"});
    (void)::umount2(suid_ok.c_str(), MNT_DETACH);
    EXPECT_NE(setuid_mount.err.find("nosuid"), std::string::npos) << setuid_mount.err;
    EXPECT_EQ(app({"permissions", name}).out, "granted: none\nrequested, not granted: files\n");

    ASSERT_EQ(app({"grant", name, "files:" + writable.string() + ":rw", "--yes"}).exit_code, 0);
    const auto granted = app({"grant", name, "files:" + shared.string(), "--yes"});
    ASSERT_EQ(granted.exit_code, 0) << granted.err;
    EXPECT_NE(granted.out.find("files:" + shared.string() + ":ro"), std::string::npos) << granted.out;
    const auto started = app({"start", name});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    ASSERT_TRUE(wait_for_output("write-", 90))
        << app({"logs", name}).out << testing::read_whole_file(dir.path() / "daemon.log");
    const std::string log = app({"logs", name}).out;
    EXPECT_NE(log.find("shared hello"), std::string::npos) << log;
    EXPECT_NE(log.find("escape mounted note.txt up"), std::string::npos) << log;
    EXPECT_NE(log.find("escape-blocked"), std::string::npos) << log;
    EXPECT_NE(log.find("up-blocked"), std::string::npos) << log;
    EXPECT_EQ(log.find("outside the share"), std::string::npos) << log;
    EXPECT_NE(log.find("mount-hidden"), std::string::npos) << log;
    EXPECT_NE(log.find("write-refused"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists(shared / "new"));
    ASSERT_TRUE(wait_for_output("rw-written", 30)) << app({"logs", name}).out;
    EXPECT_EQ(testing::read_whole_file(writable / "made"), "from the guest\n");

    // Removing the app takes its grants with it: the same name added again has none.
    ASSERT_EQ(app({"stop", name}).exit_code, 0);
    ASSERT_TRUE(wait_for_state("stopped", 30));
    ASSERT_EQ(app({"remove", name}).exit_code, 0);
    ASSERT_EQ(app({"add", definition}).exit_code, 0);
    EXPECT_EQ(app({"permissions", name}).out, "granted: none\nrequested, not granted: files\n");
}

}  // namespace
}  // namespace bulkhead
