// The fixture of the tests that run bulkheadd and `bulkhead app` with real VMs: a daemon with
// its own state and runtime directories, and a sample app made of busybox. Needs root.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace bulkhead {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const fs::path kSource = fs::path(BULKHEAD_FIXTURES_DIR).parent_path().parent_path();
const std::string kBin = BULKHEAD_BIN_DIR;

class Bulkheadd : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "bulkheadd needs root";
        ASSERT_TRUE(fs::exists(kSource / "build-guest/kernel/current/vmlinuz")) << "run scripts/setup.sh";
        name = "t" + std::to_string(::getpid() % 100000) + "-hello";
        const fs::path tree = dir.mkdir("hello");
        for (const char* sub : {"bin", "dev", "proc", "tmp", "state", "mnt"}) fs::create_directories(tree / sub);
        fs::copy_file("/bin/busybox", tree / "bin/busybox");
        definition = write_definition(name, script, requested).string();
        start_daemon();
    }

    // An app of the busybox tree running `script` with sh (in a TOML basic string).
    fs::path write_definition(const std::string& app, const std::string& shell, const std::string& request) {
        return dir.write(app + ".toml", "name = \"" + app +
                                            "\"\nversion = \"1.0\"\nimage = \"hello\"\n[run]\n"
                                            "command = \"/bin/busybox\"\nargs = [\"sh\", \"-c\", \"" +
                                            shell + "\"]\nenv = { GREETING = \"Hello from an app VM\" }\n" +
                                            (request.empty() ? "" : "[permissions]\nrequest = [" + request + "]\n"));
    }

    void TearDown() override {
        if (daemon_ > 0) {
            for (const std::string& each : others) (void)app({"stop", each});
            (void)app({"stop", name});
            std::this_thread::sleep_for(std::chrono::seconds(1));
            for (const std::string& each : others) (void)app({"remove", "--purge", each});
            (void)app({"remove", "--purge", name});
            stop_daemon();
        }
    }

    void start_daemon() {
        std::vector<std::string> args = {kBin + "/bulkheadd",
                                         "--state-dir",
                                         (dir.path() / "state").string(),
                                         "--runtime-dir",
                                         (dir.path() / "run").string(),
                                         "--kernel-dir",
                                         (kSource / "build-guest/kernel/current").string(),
                                         "--module-list",
                                         (kSource / "deps/guest-kernel-modules.txt").string(),
                                         "--guest-init",
                                         kBin + "/bulkhead-guest",
                                         "--accel",
                                         "tcg"};
        args.insert(args.end(), daemon_args.begin(), daemon_args.end());
        std::vector<char*> argv;
        for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, (dir.path() / "daemon.log").c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        ASSERT_EQ(posix_spawn(&daemon_, argv[0], &actions, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        // Serving once a request is answered (the socket may exist a moment before that).
        for (int i = 0; i < 200 && app({"list"}).exit_code != 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }

    void stop_daemon() {
        ::kill(daemon_, SIGTERM);
        ::waitpid(daemon_, nullptr, 0);
        daemon_ = -1;
        fs::remove(dir.path() / "run/bulkheadd.sock");
    }

    testing::ProcessResult app(std::vector<std::string> args) {
        args.insert(args.begin(),
                    {kBin + "/bulkhead", "app", "--socket", (dir.path() / "run/bulkheadd.sock").string()});
        return testing::run_process(args);
    }

    Json status() {
        const auto result = app({"status", name, "--json"});
        return result.exit_code == 0 ? Json::parse(result.out) : Json();
    }

    // Polls until the app's state is `state`, for up to `seconds`.
    bool wait_for_state(const std::string& state, int seconds) {
        for (int i = 0; i < seconds * 10; ++i) {
            if (status().value("state", "") == state) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }

    bool wait_for_output(const std::string& text, int seconds, const std::string& of = "") {
        for (int i = 0; i < seconds * 10; ++i) {
            if (app({"logs", of.empty() ? name : of}).out.find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }

    const testing::TempDir dir;
    // Set before SetUp: the sample app's shell script, the permissions it requests (TOML array
    // items) and bulkheadd's further arguments.
    std::string script = "echo \\\"$GREETING\\\"; exec busybox sleep 600";
    std::string requested;
    std::vector<std::string> daemon_args;
    std::vector<std::string> others;  // further apps a test added: removed with the sample app
    std::string name;
    std::string definition;
    pid_t daemon_ = -1;
};

}  // namespace bulkhead
