#include "vmm/qmp.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

extern char** environ;

namespace bulkhead::vmm {
namespace {

// A peer on the other end of a socket pair, writing what a (possibly hostile) QEMU would.
struct FakeQemu {
    FakeQemu() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ours = UniqueFd(fds[0]);
        theirs = UniqueFd(fds[1]);
    }
    void say(std::string_view text) const {
        EXPECT_EQ(::write(theirs.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
    }
    UniqueFd ours;
    UniqueFd theirs;
};

constexpr std::string_view kGreeting = R"({"QMP": {"version": {}, "capabilities": []}})"
                                       "\r\n";

TEST(QmpSession, EventsAreSkippedAndErrorsCarryQemusWords) {
    FakeQemu qemu;
    qemu.say(kGreeting);
    qemu.say("{\"return\": {}}\r\n");
    auto session = QmpSession::open(std::move(qemu.ours), 1000);
    ASSERT_TRUE(session) << session.error().message;
    qemu.say(R"({"event": "STOP", "data": {}})"
             "\r\n"
             R"({"return": {"status": "paused"}})"
             "\r\n");
    auto status = session->execute("query-status", 1000);
    ASSERT_TRUE(status) << status.error().message;
    ASSERT_NE(status->find("status"), nullptr);
    EXPECT_EQ(status->find("status")->as_string(), "paused");
    qemu.say(R"({"error": {"class": "CommandNotFound", "desc": "no such thing"}})"
             "\r\n");
    auto refused = session->execute("nothing", 1000);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message, "QMP refused nothing: no such thing");
}

TEST(QmpSession, AHostileOrSilentPeerIsABoundedError) {
    {
        FakeQemu qemu;
        qemu.say("not json\r\n");
        auto refused = QmpSession::open(std::move(qemu.ours), 1000);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, ErrorCode::parse);
    }
    {
        FakeQemu qemu;
        qemu.say("[1, 2]\r\n");
        EXPECT_FALSE(QmpSession::open(std::move(qemu.ours), 1000));
    }
    {
        FakeQemu qemu;
        qemu.say(R"({"hello": 1})"
                 "\r\n");
        EXPECT_FALSE(QmpSession::open(std::move(qemu.ours), 1000));  // not a QMP greeting
    }
    {
        // Events trickling in, each well inside the time given: the whole call still ends on time.
        FakeQemu qemu;
        qemu.say(kGreeting);
        qemu.say("{\"return\": {}}\r\n");
        auto session = QmpSession::open(std::move(qemu.ours), 1000);
        ASSERT_TRUE(session);
        std::atomic<bool> done = false;
        std::thread trickle([&] {
            for (int i = 0; i < 40 && !done; ++i) {
                qemu.say(R"({"event": "RTC_CHANGE", "data": {}})"
                         "\r\n");
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        });
        const auto start = std::chrono::steady_clock::now();
        auto slow = session->execute("query-status", 500);
        done = true;
        trickle.join();
        ASSERT_FALSE(slow);
        EXPECT_EQ(slow.error().code, ErrorCode::timeout);
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
    }
    {
        FakeQemu qemu;  // never says anything
        auto silent = QmpSession::open(std::move(qemu.ours), 100);
        ASSERT_FALSE(silent);
        EXPECT_EQ(silent.error().code, ErrorCode::timeout);
    }
    {
        FakeQemu qemu;  // an endless line
        const std::string endless(70 * 1024, 'x');
        std::thread writer([&] { (void)!::write(qemu.theirs.get(), endless.data(), endless.size()); });
        auto flooded = QmpSession::open(std::move(qemu.ours), 2000);
        writer.join();
        ASSERT_FALSE(flooded);
        EXPECT_EQ(flooded.error().code, ErrorCode::too_large);
    }
}

// The real thing: QEMU with no machine, asked for its status and then to quit.
TEST(QmpSession, QemuAnswersAndQuits) {
    const testing::TempDir dir;
    const std::string socket = (dir.path() / "qmp.sock").string();
    std::vector<std::string> args = {
        "/usr/bin/qemu-system-x86_64",           "-machine", "none", "-nodefaults", "-display", "none", "-S", "-qmp",
        "unix:" + socket + ",server=on,wait=off"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t qemu = -1;
    ASSERT_EQ(::posix_spawn(&qemu, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    UniqueFd fd;
    for (int i = 0; i < 200 && !fd.valid(); ++i) {
        UniqueFd attempt(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
        if (::connect(attempt.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
            fd = std::move(attempt);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ASSERT_TRUE(fd.valid()) << "QEMU's QMP socket never appeared";
    auto session = QmpSession::open(std::move(fd), 5000);
    ASSERT_TRUE(session) << session.error().message;
    auto status = session->execute("query-status", 5000);
    ASSERT_TRUE(status) << status.error().message;
    ASSERT_NE(status->find("running"), nullptr);
    EXPECT_FALSE(status->find("running")->as_bool());
    EXPECT_FALSE(session->execute("no-such-command", 5000));
    EXPECT_TRUE(session->quit(5000));
    int wstatus = 0;
    ASSERT_EQ(::waitpid(qemu, &wstatus, 0), qemu);
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
}

}  // namespace
}  // namespace bulkhead::vmm
