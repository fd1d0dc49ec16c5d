// Adding and removing apps for real: host users and groups are created and deleted, so these
// tests need root (as bulkheadd has) and give every app a name unique to this test process.
#include "apps/installer.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/process.hpp"
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
    struct Expected {
        const char* file;
        uid_t uid;
        gid_t gid;
        unsigned mode;
    };
    // Only the state disk is the app's to write; it may read its image, nobody else may.
    for (const Expected& expected :
         {Expected{"", 0, record->uid, 0750}, Expected{"root.erofs", 0, record->uid, 0640},
          Expected{"state.img", record->uid, record->uid, 0600}, Expected{"app.toml", 0, 0, 0600}}) {
        struct stat info {};
        ASSERT_EQ(::stat((files / expected.file).c_str(), &info), 0) << expected.file;
        EXPECT_EQ(info.st_uid, expected.uid) << expected.file;
        EXPECT_EQ(info.st_gid, expected.gid) << expected.file;
        EXPECT_EQ(info.st_mode & 07777U, expected.mode) << expected.file;
    }
    EXPECT_FALSE(fs::exists(state / "pending" / (prefix + "a")));
    EXPECT_EQ(fs::file_size(files / "state.img"), 8U << 20);
    struct stat disk {};
    ASSERT_EQ(::stat((files / "state.img").c_str(), &disk), 0);
    EXPECT_GE(disk.st_blocks * 512, 8 << 20) << "the state disk's blocks are not all reserved";
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

// A state disk is reserved in full when the app is added: one that does not fit is refused.
TEST_F(Installer, AStateDiskThatDoesNotFitIsRefused) {
    fs::create_directories(state);
    ASSERT_EQ(::mount("tmpfs", state.c_str(), "tmpfs", 0, "size=24m"), 0);
    const std::string too_big = definition("big", "tree", 32);
    auto refused = add_app(state.string(), too_big);
    ASSERT_FALSE(refused);
    EXPECT_NE(
        refused.error().message.find("not enough free space in " + state.string() + " for a state disk of 32 MiB"),
        std::string::npos)
        << refused.error().message;
    EXPECT_FALSE(user_exists(host_user_name(prefix + "big")));
    EXPECT_TRUE(fs::is_empty(state / "apps"));
    ::umount2(state.c_str(), MNT_DETACH);
}

// The image is read with its owner's authority: a tree a user owns cannot carry a file only
// root may read into an image, whoever adds it.
TEST_F(Installer, AnImageIsReadAsItsOwner) {
    const fs::path tree = dir.path() / "tree";
    dir.write("tree/secret", "root only");
    ASSERT_EQ(::chmod((tree / "secret").c_str(), 0600), 0);
    for (const auto& entry : fs::recursive_directory_iterator(tree)) {
        if (entry.path().filename() != "secret") {
            ASSERT_EQ(::lchown(entry.path().c_str(), 65534, 65534), 0);
        }
    }
    ASSERT_EQ(::chown(tree.c_str(), 65534, 65534), 0);
    const std::string secret_definition = definition("secret");
    fs::create_directories(state / "apps");
    const auto before = picture(dir.path());
    auto refused = add_app(state.string(), secret_definition);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("as its owner (uid 65534, gid 65534)"), std::string::npos)
        << refused.error().message;
    EXPECT_FALSE(user_exists(host_user_name(prefix + "secret")));
    EXPECT_EQ(picture(dir.path()), before);

    ASSERT_EQ(::chown((tree / "secret").c_str(), 65534, 65534), 0);
    auto added = add_app(state.string(), definition("owned"));
    EXPECT_TRUE(added) << added.error().message;
}

TEST_F(Installer, AnErofsImageIsCopiedAsItsOwner) {
    const fs::path image = dir.path() / "image.erofs";
    auto built =
        run_program_checked({"/usr/bin/mkfs.erofs", "--quiet", image.string(), (dir.path() / "tree").string()});
    ASSERT_TRUE(built) << built.error().message;
    ASSERT_EQ(::chown(image.c_str(), 65534, 65534), 0);
    auto added = add_app(state.string(), definition("copied", "image.erofs"));
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(bulkhead::testing::read_whole_file(app_dir(state.string(), prefix + "copied") + "/root.erofs"),
              bulkhead::testing::read_whole_file(image));

    ASSERT_EQ(::chown(image.c_str(), 0, 0), 0);
    ASSERT_EQ(::chmod(image.c_str(), 0600), 0);
    ASSERT_EQ(::chown(dir.path().c_str(), 65534, 65534), 0);  // a user's directory, root's image in it
    ASSERT_EQ(::symlink("image.erofs", (dir.path() / "link.erofs").c_str()), 0);
    ASSERT_TRUE(add_app(state.string(), definition("link", "link.erofs")));  // root's image: root reads it
    ASSERT_EQ(::lchown(image.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chmod(image.c_str(), 0), 0);
    auto unreadable = add_app(state.string(), definition("unreadable", "image.erofs"));
    ASSERT_FALSE(unreadable);
    EXPECT_NE(unreadable.error().message.find("as its owner"), std::string::npos) << unreadable.error().message;
}

TEST_F(Installer, AnImageOutsideTheDefinitionsDirectoryIsRefused) {
    const fs::path inner = dir.mkdir("inner");
    ASSERT_EQ(::symlink("../tree", (inner / "escape").c_str()), 0);
    ASSERT_EQ(::symlink("/usr", (inner / "absolute").c_str()), 0);
    auto write = [&](const std::string& name, const std::string& image) {
        made.push_back(prefix + name);
        return dir
            .write("inner/" + name + ".toml", "name = \"" + prefix + name + "\"\nversion = \"1\"\nimage = \"" + image +
                                                  "\"\n[run]\ncommand = \"/bin/hello\"\n")
            .string();
    };
    const auto before = picture(dir.path());
    for (const auto& [name, image, message] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"up", "../tree", "image: must not have empty, '.' or '..' components"},
             {"abs", "/usr", "image: must be relative to the definition's directory"},
             {"escape", "escape", "leads outside the definition's directory"},
             {"absolute", "absolute", "leads outside the definition's directory"}}) {
        auto refused = add_app(state.string(), write(name, image));
        ASSERT_FALSE(refused) << name;
        EXPECT_NE(refused.error().message.find(message), std::string::npos) << refused.error().message;
        EXPECT_FALSE(user_exists(host_user_name(prefix + name))) << name;
    }
    (void)before;
}

// An add that stops after the account exists but before the registry names the app (bulkheadd
// killed) is undone the next time bulkheadd starts.
TEST_F(Installer, AnInterruptedAddIsUndone) {
    ASSERT_TRUE(add_app(state.string(), definition("kept")));
    const std::string user = host_user_name(prefix + "lost");
    made.push_back(prefix + "lost");
    ASSERT_TRUE(run_program_checked({"/usr/sbin/groupadd", "--system", "--gid", "609998", user}));
    ASSERT_TRUE(run_program_checked({"/usr/sbin/useradd", "--system", "--uid", "609998", "--gid", "609998",
                                     "--no-create-home", "--shell", "/usr/sbin/nologin", user}));
    fs::create_directories(state / "pending");
    dir.write("state/pending/" + prefix + "lost", user + "\n");
    dir.write("state/pending/" + prefix + "kept", host_user_name(prefix + "kept") + "\n");
    fs::create_directories(state / "apps" / (prefix + "lost"));
    fs::create_directories(state / "apps" / (".new-" + prefix + "lost-abc123"));

    auto undone = recover_interrupted_adds(state.string());
    ASSERT_TRUE(undone) << undone.error().message;
    EXPECT_EQ(*undone, std::vector<std::string>{prefix + "lost"});
    EXPECT_FALSE(user_exists(user));
    EXPECT_EQ(::getgrnam(user.c_str()), nullptr);
    EXPECT_TRUE(user_exists(host_user_name(prefix + "kept")));
    EXPECT_FALSE(fs::exists(state / "apps" / (prefix + "lost")));
    EXPECT_FALSE(fs::exists(state / "apps" / (".new-" + prefix + "lost-abc123")));
    EXPECT_TRUE(fs::exists(state / "apps" / (prefix + "kept") / "root.erofs"));
    EXPECT_TRUE(fs::is_empty(state / "pending"));
}

// The registry cannot be written after the account and files exist: all of it goes again.
TEST_F(Installer, AFailedRegistryWriteUndoesTheAdd) {
    ASSERT_TRUE(add_app(state.string(), definition("first")));
    const std::string registry_before = bulkhead::testing::read_whole_file(state / "registry.json");
    // registry.json becomes a directory once the account exists: the rename onto it fails.
    const fs::path blocker = dir.write("block-registry", "#!/bin/sh\n/usr/sbin/useradd \"$@\" || exit $?\nrm " +
                                                             (state / "registry.json").string() + "\nmkdir " +
                                                             (state / "registry.json").string() + "\n");
    ASSERT_EQ(::chmod(blocker.c_str(), 0755), 0);
    HostTools tools;
    tools.useradd = blocker.string();
    auto refused = add_app(state.string(), definition("second"), tools);
    ASSERT_FALSE(refused);
    EXPECT_FALSE(user_exists(host_user_name(prefix + "second")));
    EXPECT_EQ(::getgrnam(host_user_name(prefix + "second").c_str()), nullptr);
    EXPECT_FALSE(fs::exists(app_dir(state.string(), prefix + "second")));
    EXPECT_FALSE(fs::exists(state / "pending" / (prefix + "second")));
    fs::remove(state / "registry.json");
    dir.write("state/registry.json", registry_before);
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

TEST_F(Installer, ReplacingAnInstalledAppKeepsItsUserAndData) {
    auto first = add_app(state.string(), definition("swap"));
    ASSERT_TRUE(first);
    const fs::path files = app_dir(state.string(), prefix + "swap");
    std::ofstream(files / "state.img", std::ios::in | std::ios::out | std::ios::binary) << "precious";
    const std::string old_image = bulkhead::testing::read_whole_file(files / "root.erofs");

    // Version 2.0 with another file in its tree.
    dir.write("tree2/bin/hello", "#!/bin/sh\necho version two\n");
    for (const char* sub : {"dev", "proc", "tmp", "state"}) fs::create_directories(dir.path() / "tree2" / sub);
    const std::string text = "name = \"" + prefix + "swap\"\nversion = \"2.0\"\nimage = \"tree2\"\n[run]\n" +
                             "command = \"/bin/hello\"\n[resources]\nstate_disk_mib = 8\n";
    const std::string second = dir.write(prefix + "swap2.toml", text).string();

    auto refused = add_app(state.string(), second);  // without replace
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("installed already"), std::string::npos);
    auto running = add_app(
        state.string(), second, {}, [](const std::string&) { return true; }, true);
    ASSERT_FALSE(running);
    EXPECT_NE(running.error().message.find("stop it first"), std::string::npos);
    EXPECT_EQ(bulkhead::testing::read_whole_file(files / "root.erofs"), old_image);

    auto replaced = add_app(
        state.string(), second, {}, [](const std::string&) { return false; }, true);
    ASSERT_TRUE(replaced) << replaced.error().message;
    EXPECT_EQ(replaced->uid, first->uid);
    EXPECT_EQ(replaced->version, "2.0");
    EXPECT_NE(bulkhead::testing::read_whole_file(files / "root.erofs"), old_image);
    EXPECT_NE(bulkhead::testing::read_whole_file(files / "app.toml").find("version = \"2.0\""), std::string::npos);
    EXPECT_EQ(bulkhead::testing::read_whole_file(files / "state.img").substr(0, 8), "precious");
    struct stat disk {};
    ASSERT_EQ(::stat((files / "state.img").c_str(), &disk), 0);
    EXPECT_EQ(disk.st_uid, first->uid);
    EXPECT_EQ(disk.st_nlink, 1U);  // the replaced version's directory is gone
    auto registry = Registry::load(state.string());
    ASSERT_TRUE(registry);
    ASSERT_NE(registry->find(prefix + "swap"), nullptr);
    EXPECT_EQ(registry->find(prefix + "swap")->version, "2.0");
    for (const auto& entry : fs::directory_iterator(state / "apps")) {
        EXPECT_FALSE(entry.path().filename().string().starts_with(".new-")) << entry.path();
    }
}

}  // namespace
}  // namespace bulkhead::apps
