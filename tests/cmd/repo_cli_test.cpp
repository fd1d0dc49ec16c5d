// `bulkhead repo` as a user runs it: keys, init, targets, delegations, signing, publishing,
// served over HTTP on 127.0.0.1 and installed by two independent clients, ours
// (bulkhead-tuf-client) and tuf-js (the pinned npm package in tests/interop/tufjs).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/http_server.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"
#include "tuf/time.hpp"
#include "tuf_repo/repository.hpp"

extern char** environ;

namespace bulkhead {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::read_whole_file;

const std::string kBin = BULKHEAD_BIN_DIR;
const std::string kPeer = std::string(BULKHEAD_FIXTURES_DIR) + "/../interop/tufjs";

ProcessResult bulkhead(std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "/bulkhead");
    return testing::run_process(args);
}

std::string find_node() {
    for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
        const std::string candidate = std::string(dir) + "/node";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

std::map<std::string, std::string> tree_picture(const fs::path& root) {
    std::map<std::string, std::string> picture;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
        picture[entry.path().lexically_relative(root).string()] =
            entry.is_directory() ? std::string("<dir>") : read_whole_file(entry.path());
    }
    return picture;
}

// Serves files below `root` over HTTP, as any static web server would.
testing::HttpServer::Handler serve_directory(fs::path root) {
    return [root = std::move(root)](const std::string& path) -> std::optional<std::string> {
        if (path.find("..") != std::string::npos || path.empty() || path[0] != '/') return std::nullopt;
        std::string decoded;
        for (std::size_t i = 0; i < path.size(); ++i) {
            if (path[i] == '%' && i + 2 < path.size()) {
                decoded += static_cast<char>(std::stoi(path.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                decoded += path[i];
            }
        }
        const fs::path file = root / decoded.substr(1);
        if (!fs::is_regular_file(file)) return std::nullopt;
        return read_whole_file(file);
    };
}

class RepoCli : public ::testing::Test {
protected:
    void SetUp() override {
        std::ofstream(dir.path() / "passphrase") << "correct horse battery staple\n";
        std::ofstream(dir.path() / "wrong") << "not the passphrase\n";
        // Root keys encrypted, as they would be; the others in the clear to keep the test fast.
        for (const std::string name : {"root1", "root2"}) {
            ASSERT_EQ(bulkhead({"keys", "generate", "--type", "ed25519", "--out", key(name), "--passphrase-file",
                                path("passphrase")})
                          .exit_code,
                      0);
        }
        for (const auto& [name, type] : std::vector<std::pair<std::string, std::string>>{{"targets", "ecdsa-p256"},
                                                                                         {"snapshot", "ed25519"},
                                                                                         {"timestamp", "ed25519"},
                                                                                         {"apps", "ed25519"},
                                                                                         {"bins", "ed25519"}}) {
            ASSERT_EQ(
                bulkhead({"keys", "generate", "--type", type, "--out", key(name), "--insecure-plaintext"}).exit_code,
                0);
        }
        ASSERT_EQ(bulkhead({"keys", "public", key("targets"), "--json"}).exit_code, 0);
        std::ofstream(path("targets.pub")) << bulkhead({"keys", "public", key("targets"), "--json"}).out;
    }

    [[nodiscard]] std::string path(const std::string& name) const { return (dir.path() / name).string(); }
    [[nodiscard]] std::string key(const std::string& name) const { return path(name + ".key"); }
    [[nodiscard]] std::string repo() const { return path("repo"); }
    [[nodiscard]] fs::path published() const { return dir.path() / "repo/published"; }

    void ok(const std::vector<std::string>& args) {
        const ProcessResult result = bulkhead(args);
        ASSERT_EQ(result.exit_code, 0) << args[0] << " " << args[1] << ": " << result.err << result.out;
    }

    void init_and_publish_first() {
        ok({"repo", "init", repo(), "--root-key", key("root1"), "--root-key", key("root2"), "--root-threshold", "2",
            "--targets-key", path("targets.pub"), "--snapshot-key", key("snapshot"), "--timestamp-key",
            key("timestamp")});
        std::ofstream(path("hello.txt")) << "hello, world\n";
        ok({"repo", "add-target", repo(), "--path", "docs/hello.txt", path("hello.txt"), "--custom",
            R"({"kind":"doc"})"});
        ok({"repo", "delegate", repo(), "--role", "apps", "--key", key("apps"), "--path", "apps/*", "--path",
            "apps/*/*", "--terminating"});
        std::ofstream(path("editor.tar")) << "editor 1.0";
        ok({"repo", "add-target", repo(), "--path", "apps/editor.tar", path("editor.tar"), "--role", "apps"});
        for (const std::string name : {"root1", "root2"}) {
            ok({"repo", "sign", repo(), "--key", key(name), "--passphrase-file", path("passphrase")});
        }
        ok({"repo", "sign", repo(), "--key", key("targets")});
        ok({"repo", "sign", repo(), "--key", key("apps")});
        ok({"repo", "publish", repo(), "--snapshot-key", key("snapshot"), "--timestamp-key", key("timestamp")});
    }

    // Our client: init once, then refresh and download; returns the downloaded contents or "".
    std::string ours(const std::string& client, const std::string& target, std::string* error = nullptr) {
        const std::string metadata = path(client + "-metadata");
        if (!fs::exists(metadata)) {
            fs::create_directories(metadata);
            const ProcessResult init = testing::run_process({kBin + "/bulkhead-tuf-client", "--metadata-dir", metadata,
                                                             "init", (published() / "metadata/1.root.json").string()});
            EXPECT_EQ(init.exit_code, 0) << init.err;
        }
        const std::string targets = path(client + "-targets");
        fs::remove_all(targets);
        fs::create_directories(targets);
        const ProcessResult download =
            testing::run_process({kBin + "/bulkhead-tuf-client", "--metadata-dir", metadata, "--metadata-url",
                                  server.url("/metadata/"), "--target-base-url", server.url("/targets/"),
                                  "--target-dir", targets, "--target-name", target, "download"});
        if (error != nullptr) *error = download.err;
        if (download.exit_code != 0) return {};
        for (const fs::directory_entry& entry : fs::directory_iterator(targets)) return read_whole_file(entry.path());
        return {};
    }

    // tuf-js, with its own trusted metadata directory.
    std::string tufjs(const std::string& client, const std::string& target, std::string* error = nullptr) {
        const std::string node = find_node();
        EXPECT_FALSE(node.empty()) << "Node.js is needed: run scripts/setup.sh";
        EXPECT_TRUE(fs::exists(kPeer + "/node_modules/tuf-js")) << "tuf-js is not installed: run scripts/setup.sh";
        const std::string metadata = path(client + "-metadata");
        if (!fs::exists(metadata)) {
            fs::create_directories(metadata);
            fs::copy_file(published() / "metadata/1.root.json", metadata + "/root.json");
        }
        const std::string targets = path(client + "-targets");
        fs::remove_all(targets);
        fs::create_directories(targets);
        const ProcessResult download =
            testing::run_process({node, kPeer + "/tufjs_client.mjs", metadata, server.url("/metadata/"), targets,
                                  server.url("/targets/"), target});
        if (error != nullptr) *error = download.err;
        if (download.exit_code != 0) return {};
        for (const fs::directory_entry& entry : fs::directory_iterator(targets)) return read_whole_file(entry.path());
        return {};
    }

    const testing::TempDir dir;
    testing::HttpServer server{serve_directory(dir.path() / "repo/published")};
};

TEST_F(RepoCli, BothClientsInstallAcrossDelegationsBinsAndRootRotation) {
    init_and_publish_first();
    EXPECT_EQ(ours("ours", "docs/hello.txt"), "hello, world\n");
    EXPECT_EQ(tufjs("tufjs", "docs/hello.txt"), "hello, world\n");
    EXPECT_EQ(ours("ours", "apps/editor.tar"), "editor 1.0");
    EXPECT_EQ(tufjs("tufjs", "apps/editor.tar"), "editor 1.0");

    // Root rotation to a new key set (root2 + targets' key now in root), and hash bins under
    // "apps" via a second delegation level.
    ok({"repo", "rotate", repo(), "--role", "root", "--key", key("root2"), "--key", key("bins"), "--threshold", "2"});
    ok({"repo", "delegate", repo(), "--from", "apps", "--role", "games", "--key", key("apps"), "--path",
        "apps/games/*"});
    ok({"repo", "delegate-bins", repo(), "--from", "games", "--bits", "3", "--prefix", "gb", "--key", key("bins")});
    std::ofstream(path("chess")) << "chess 2.0";
    ok({"repo", "add-target", repo(), "--path", "apps/games/chess", path("chess")});  // lands in its bin
    const ProcessResult staged = bulkhead({"repo", "status", repo(), "--json"});
    ASSERT_EQ(staged.exit_code, 0);
    const auto status = nlohmann::json::parse(staged.out);
    int bins_with_targets = 0;
    for (const auto& role : status["roles"]) {
        if (role["role"].get<std::string>().starts_with("gb-") && role["targets"] == 1) ++bins_with_targets;
    }
    EXPECT_EQ(bins_with_targets, 1) << staged.out;
    EXPECT_FALSE(status["warnings"].empty());  // below threshold, and it says so

    // The new root needs both the old root's threshold (root1 + root2) and the new one's (root2 + bins).
    for (const std::string name : {"root1", "root2"}) {
        ok({"repo", "sign", repo(), "--key", key(name), "--passphrase-file", path("passphrase")});
    }
    ok({"repo", "sign", repo(), "--key", key("bins")});
    ok({"repo", "sign", repo(), "--key", key("apps")});
    ok({"repo", "publish", repo(), "--snapshot-key", key("snapshot"), "--timestamp-key", key("timestamp")});
    EXPECT_TRUE(fs::exists(published() / "metadata/2.root.json"));
    EXPECT_EQ(ours("ours", "apps/games/chess"), "chess 2.0");
    EXPECT_EQ(tufjs("tufjs", "apps/games/chess"), "chess 2.0");
    EXPECT_EQ(ours("fresh-ours", "apps/games/chess"), "chess 2.0");  // from 1.root.json, through 2.root.json
    EXPECT_EQ(tufjs("fresh-tufjs", "apps/games/chess"), "chess 2.0");

    // A tampered target on the server: both clients refuse it.
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(published() / "targets/apps/games")) {
        if (!entry.is_regular_file()) continue;
        fs::remove(entry.path());
        std::ofstream(entry.path()) << "chess 6.6";
    }
    std::string error;
    EXPECT_EQ(ours("ours", "apps/games/chess", &error), "");
    EXPECT_NE(error.find("sha256"), std::string::npos) << error;
    EXPECT_EQ(tufjs("tufjs", "apps/games/chess", &error), "");
    EXPECT_NE(error.find("tuf-js:"), std::string::npos) << error;

    // An expired timestamp (published two days ago, valid for one): both clients refuse it.
    {
        auto repository = tuf_repo::Repository::open(repo(), tuf::now() - 2 * 86400);
        ASSERT_TRUE(repository) << repository.error().message;
        auto snapshot = tuf_repo::read_key_file(read_whole_file(key("snapshot")), std::nullopt);
        auto timestamp = tuf_repo::read_key_file(read_whole_file(key("timestamp")), std::nullopt);
        ASSERT_TRUE(snapshot && timestamp);
        ASSERT_TRUE(repository->publish({&*snapshot}, {&*timestamp}));
    }
    EXPECT_EQ(ours("ours", "docs/hello.txt", &error), "");
    EXPECT_NE(error.find("expired"), std::string::npos) << error;
    EXPECT_EQ(tufjs("tufjs", "docs/hello.txt", &error), "");
    EXPECT_NE(error.find("expired"), std::string::npos) << error;
}

TEST_F(RepoCli, RefusalsLeaveTheRepositoryAsItWas) {
    init_and_publish_first();
    ok({"repo", "renew", repo(), "--role", "root"});
    const auto before = tree_picture(dir.path() / "repo");
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"repo", "sign", repo(), "--key", key("root1"), "--passphrase-file", path("wrong")}, "wrong passphrase"},
        {{"repo", "sign", repo(), "--key", key("apps"), "--role", "root"}, "is not authorised to sign root"},
        {{"repo", "publish", repo(), "--snapshot-key", key("snapshot"), "--timestamp-key", key("timestamp")},
         "has 0 of the 2 signatures"},
        {{"repo", "renew", repo(), "--role", "targets", "--expires", "2020-01-01T00:00:00Z"}, "is not in the future"},
        {{"repo", "add-target", repo(), "--path", "docs/x", path("hello.txt"), "--role", "apps"},
         "is outside what targets delegates to 'apps'"},
        {{"repo", "add-target", repo(), "--path", "/etc/passwd", path("hello.txt")}, "empty segment"},
        {{"repo", "add-target", repo(), "--path", "x", path("hello.txt"), "--custom", "[1]"}, "must be a JSON object"},
        {{"repo", "remove-target", repo(), "--path", "docs/nothing"}, "lists no target"},
        {{"repo", "delegate", repo(), "--role", "apps", "--key", key("apps"), "--path", "x/*"}, "exists already"},
        {{"repo", "delegate", repo(), "--role", "root", "--key", key("apps"), "--path", "x/*"}, "is a top-level role"},
        {{"repo", "rotate", repo(), "--role", "timestamp", "--key", key("root1")}, "both a root key and an online"},
    };
    for (const Case& c : cases) {
        const ProcessResult result = bulkhead(c.args);
        EXPECT_EQ(result.exit_code, 1) << c.args[1] << ": " << result.err;
        EXPECT_NE(result.err.find(c.message), std::string::npos) << c.args[1] << ": " << result.err;
        EXPECT_EQ(tree_picture(dir.path() / "repo"), before) << c.args[1] << " changed the repository";
    }
    const ProcessResult usage = bulkhead({"repo", "init", path("other"), "--root-key", key("root1")});
    EXPECT_EQ(usage.exit_code, 2);
    const ProcessResult zero_days =
        bulkhead({"repo", "init", path("other"), "--root-key", key("root1"), "--targets-key", key("targets"),
                  "--snapshot-key", key("snapshot"), "--timestamp-key", key("timestamp"), "--expiry", "timestamp=0"});
    EXPECT_EQ(zero_days.exit_code, 1);
    EXPECT_NE(zero_days.err.find("at least 1 day"), std::string::npos) << zero_days.err;
    EXPECT_FALSE(fs::exists(path("other")));
}

// Kills `repo publish` at a range of moments: the published tree is always either exactly the
// old one or a complete new one that a client accepts, and the next publish cleans up.
TEST_F(RepoCli, KilledPublishLeavesTheOldTreeOrTheNewOne) {
    auto snapshot = tuf_repo::read_key_file(read_whole_file(key("snapshot")), std::nullopt);
    auto timestamp = tuf_repo::read_key_file(read_whole_file(key("timestamp")), std::nullopt);
    auto targets = tuf_repo::read_key_file(read_whole_file(key("targets")), std::nullopt);
    auto bins = tuf_repo::read_key_file(read_whole_file(key("bins")), std::nullopt);
    ASSERT_TRUE(snapshot && timestamp && targets && bins);
    init_and_publish_first();
    int round = 0;
    // Stages `count` new targets in 64 bins, signed, ready to publish.
    auto stage = [&](int count) {
        auto repository = tuf_repo::Repository::open(repo(), tuf::now());
        ASSERT_TRUE(repository) << repository.error().message;
        if (round == 0) {
            tuf_repo::DelegationRequest request;
            request.name = "pkgs";
            request.keys = {{targets->identity}, 1};
            request.paths = {"pkgs/*"};
            ASSERT_TRUE(repository->delegate(request));
            tuf_repo::BinsRequest split;
            split.delegator = "pkgs";
            split.bits = 6;
            split.keys = {{bins->identity}, 1};
            ASSERT_TRUE(repository->delegate_bins(split));
        }
        ++round;
        for (int i = 0; i < count; ++i) {
            const std::string path = "pkgs/r" + std::to_string(round) + "-" + std::to_string(i);
            ASSERT_TRUE(repository->add_target(path, tuf_repo::TargetBytes{path}, std::nullopt, std::nullopt));
        }
        if (round == 1) {
            ASSERT_TRUE(repository->sign(*targets, {}));  // targets and pkgs changed
        }
        ASSERT_TRUE(repository->sign(*bins, {}));
        ASSERT_TRUE(repository->commit());
    };
    const std::vector<std::string> publish = {kBin + "/bulkhead", "repo",          "publish",         repo(),
                                              "--snapshot-key",   key("snapshot"), "--timestamp-key", key("timestamp")};
    int killed = 0;
    for (int delay_ms : {0, 3, 10, 30, 100, 300, 1000, 3000}) {
        stage(1000);
        const auto old_tree = tree_picture(published());
        std::vector<char*> argv;
        for (const std::string& arg : publish) argv.push_back(const_cast<char*>(arg.c_str()));
        argv.push_back(nullptr);
        posix_spawn_file_actions_t quiet;
        posix_spawn_file_actions_init(&quiet);
        posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
        pid_t pid = 0;
        ASSERT_EQ(posix_spawn(&pid, argv[0], &quiet, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&quiet);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        const bool was_killed = WIFSIGNALED(status);
        killed += was_killed ? 1 : 0;

        const auto tree = tree_picture(published());
        const std::string newest = "pkgs/r" + std::to_string(round) + "-7";
        if (tree == old_tree) {
            EXPECT_TRUE(was_killed) << "a publish that finished changed nothing";
            EXPECT_EQ(ours("ours", newest), "") << "delay " << delay_ms;
            ok({"repo", "publish", repo(), "--snapshot-key", key("snapshot"), "--timestamp-key", key("timestamp")});
        }
        // Whichever publish got through, the new tree is complete.
        EXPECT_EQ(ours("ours", newest), newest) << "delay " << delay_ms;
        // A publish killed after its swap leaves the old tree beside the new one; the next
        // command removes it.
        ok({"repo", "status", repo()});
        for (const fs::directory_entry& entry : fs::directory_iterator(repo())) {
            const std::string name = entry.path().filename().string();
            EXPECT_FALSE(name.starts_with(".published-") || name.starts_with(".staged-")) << name << " left behind";
        }
        if (!was_killed) break;
    }
    std::cout << "publishes interrupted: " << killed << "\n";
    EXPECT_GE(killed, 3) << "too few publishes were interrupted to mean anything";
    EXPECT_EQ(tufjs("tufjs", "pkgs/r1-0"), "pkgs/r1-0");
}

}  // namespace
}  // namespace bulkhead
