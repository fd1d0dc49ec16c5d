// Adding and removing apps for real: host users and groups are created and deleted, so these
// tests need root (as bulkheadd has) and give every app a name unique to this test process.
#include "apps/installer.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace bulkhead::apps {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> picture(const fs::path& root) {
    std::map<std::string, std::string> files;
    if (!fs::exists(root)) return files;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        files[entry.path().lexically_relative(root).string()] =
            entry.is_regular_file() ? bulkhead::testing::read_whole_file(entry.path()) : "<dir>";
    }
    return files;
}

class Installer : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "adding apps creates host users; needs root";
        prefix = "t" + std::to_string(::getpid() % 100000) + "-";
        state = dir.path() / "state";
        const fs::path tree = dir.mkdir("tree");
        for (const char* sub : {"bin", "dev", "proc", "tmp", "state"}) fs::create_directories(tree / sub);
        dir.write("tree/bin/hello", "#!/bin/sh\necho hi\n");
    }
    void TearDown() override {
        for (const std::string& name : made) (void)remove_app(state.string(), name, true);
    }

    std::string definition(const std::string& name, const std::string& image = "tree", int state_mib = 8) {
        made.push_back(prefix + name);
        const std::string text =
            "name = \"" + prefix + name + "\"\nversion = \"1.0\"\nimage = \"" + image +
            "\"\n[run]\ncommand = \"/bin/hello\"\n[resources]\nstate_disk_mib = " + std::to_string(state_mib) + "\n";
        return dir.write(prefix + name + ".toml", text).string();
    }

    static bool user_exists(const std::string& name) { return ::getpwnam(name.c_str()) != nullptr; }

    const bulkhead::testing::TempDir dir;
    fs::path state;
    std::string prefix;
    std::vector<std::string> made;
};

TEST_F(Installer, AnAppGetsItsOwnUserAndPrivateFiles) {
    auto record = add_app(state.string(), definition("a"));
    ASSERT_TRUE(record) << record.error().message;
    EXPECT_GE(record->uid, kFirstAppUid);
    EXPECT_LE(record->uid, kLastAppUid);
    const passwd* user = ::getpwnam(host_user_name(prefix + "a").c_str());
    ASSERT_NE(user, nullptr);
    EXPECT_EQ(user->pw_uid, record->uid);
    EXPECT_EQ(user->pw_gid, record->uid);
    EXPECT_STREQ(user->pw_shell, "/usr/sbin/nologin");
    const fs::path files = app_dir(state.string(), prefix + "a");
    struct stat info {};
    ASSERT_EQ(::stat(files.c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, record->uid);
    EXPECT_EQ(info.st_mode & 07777U, 0700U);
    for (const char* file : {"root.erofs", "state.img", "app.toml"}) {
        ASSERT_EQ(::stat((files / file).c_str(), &info), 0) << file;
        EXPECT_EQ(info.st_uid, record->uid) << file;
        EXPECT_EQ(info.st_mode & 07777U, 0600U) << file;
    }
    EXPECT_EQ(fs::file_size(files / "state.img"), 8U << 20);
    auto registry = Registry::load(state.string());
    ASSERT_TRUE(registry);
    ASSERT_NE(registry->find(prefix + "a"), nullptr);
}

TEST_F(Installer, OneAppsUserCannotReadAnothersImages) {
    auto a = add_app(state.string(), definition("a"));
    auto b = add_app(state.string(), definition("b"));
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->uid, b->uid);
    const std::string b_image = app_dir(state.string(), prefix + "b") + "/root.erofs";
    const pid_t child = ::fork();
    if (child == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(a->uid) != 0 || ::setuid(a->uid) != 0) ::_exit(2);
        const int fd = ::open(b_image.c_str(), O_RDONLY);
        ::_exit(fd < 0 && errno == EACCES ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "app a's uid could open app b's image";
}

TEST_F(Installer, RefusedAddsCreateNothing) {
    ASSERT_TRUE(add_app(state.string(), definition("dup")));
    const auto before = picture(dir.path());
    struct Case {
        std::string definition;
        std::string message;
    };
    const std::vector<Case> cases = {
        {definition("dup"), "is installed already"},
        {definition("noimage", "missing-dir"), "does not exist"},
        {definition("notfs", "tree/bin/hello"), "is not an erofs file system"},
        {dir.write(prefix + "bad.toml", "name = \"" + prefix + "bad\"\nversion = 1\n").string(), "must be a string"},
    };
    for (const Case& c : cases) {
        const auto files_before = picture(dir.path());
        auto refused = add_app(state.string(), c.definition);
        ASSERT_FALSE(refused) << c.message;
        EXPECT_NE(refused.error().message.find(c.message), std::string::npos) << refused.error().message;
        EXPECT_EQ(picture(dir.path()), files_before) << c.message;
    }
    for (const char* name : {"noimage", "notfs", "bad"})
        EXPECT_FALSE(user_exists(host_user_name(prefix + name))) << name;
    (void)before;
}

TEST_F(Installer, RemoveKeepsDataAndUidUntilPurged) {
    auto first = add_app(state.string(), definition("keep"));
    ASSERT_TRUE(first);
    const fs::path files = app_dir(state.string(), prefix + "keep");
    std::ofstream(files / "state.img", std::ios::in | std::ios::out | std::ios::binary) << "precious";
    ASSERT_TRUE(remove_app(state.string(), prefix + "keep", false));
    EXPECT_TRUE(user_exists(host_user_name(prefix + "keep")));
    EXPECT_TRUE(fs::exists(files / "state.img"));
    EXPECT_FALSE(remove_app(state.string(), prefix + "keep", false));  // not installed any more

    auto again = add_app(state.string(), state.parent_path() / (prefix + "keep.toml"));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->uid, first->uid);
    EXPECT_EQ(bulkhead::testing::read_whole_file(files / "state.img").substr(0, 8), "precious");

    ASSERT_TRUE(remove_app(state.string(), prefix + "keep", true));
    EXPECT_FALSE(user_exists(host_user_name(prefix + "keep")));
    EXPECT_FALSE(fs::exists(files));
    auto registry = Registry::load(state.string());
    ASSERT_TRUE(registry);
    EXPECT_EQ(registry->find(prefix + "keep"), nullptr);
}

}  // namespace
}  // namespace bulkhead::apps
