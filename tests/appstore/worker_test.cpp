// The store's worker: it really runs as the store's uid with no way back to root, its lines are
// read strictly, and a worker that dies or lies is an error, never a result.
#include "appstore/worker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "appstore/config.hpp"
#include "base/file_io.hpp"
#include "json/write.hpp"

namespace bulkhead::appstore {
namespace {

TEST(WorkerLines, RoundTripAndStrictness) {
    std::string line = progress_line({"download", "packages/a b.pkg", 5, 10});
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    auto progress = parse_worker_line(line);
    ASSERT_TRUE(progress) << progress.error().message;
    EXPECT_EQ(progress->kind, WorkerMessage::Kind::progress);
    EXPECT_EQ(progress->progress.item, "packages/a b.pkg");
    EXPECT_EQ(progress->progress.done, 5U);
    EXPECT_EQ(progress->progress.total, 10U);

    auto error = parse_worker_line(error_line({ErrorCode::integrity, "sha256 mismatch"}));
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind, WorkerMessage::Kind::error);
    EXPECT_EQ(error->error.code, ErrorCode::integrity);
    EXPECT_EQ(error->error.message, "sha256 mismatch");

    for (const char* bad : {"", "[]", "{}", R"({"progress":{"stage":"x","item":"y","done":1}})",
                            R"({"progress":{"stage":"x","item":"y","done":-1,"total":1}})",
                            R"({"progress":{"stage":"x","item":"y","done":1,"total":1,"more":1}})",
                            R"({"error":{"code":"no_such_code","message":"m"}})", R"({"result":[]})",
                            R"({"result":{},"error":{"code":"io","message":"m"}})", R"({"shout":{}})"}) {
        EXPECT_FALSE(parse_worker_line(bad)) << bad;
    }
}

class Worker : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "dropping to another uid needs root";
    }
};

TEST_F(Worker, RunsAsTheStoreUidWithNoWayBack) {
    std::vector<ProgressEvent> seen;
    auto result = run_worker(
        kDefaultWorkerUid,
        [](int fd) {
            (void)write_all(fd, progress_line({"refresh", "demo", 0, 0}), "pipe");
            gid_t groups[4] = {};
            const int count = ::getgroups(4, groups);
            auto status = read_file_bounded("/proc/self/status", 65536);
            const bool no_new_privs = status && status->find("NoNewPrivs:\t1") != std::string::npos;
            const bool no_capabilities = status && status->find("CapEff:\t0000000000000000") != std::string::npos;
            const json::Value answer = json::sorted_object(
                {{"uid", json::Value(static_cast<std::int64_t>(::getuid()))},
                 {"gid", json::Value(static_cast<std::int64_t>(::getgid()))},
                 {"groups", json::Value(static_cast<std::int64_t>(count))},
                 {"back_to_root", json::Value(::setuid(0) == 0)},
                 {"no_new_privs", json::Value(no_new_privs)},
                 {"no_capabilities", json::Value(no_capabilities)},
                 {"reads_shadow", json::Value(static_cast<bool>(read_file_bounded("/etc/shadow", 65536)))}});
            return write_all(fd, result_line(answer), "pipe") ? 0 : 1;
        },
        [&](const ProgressEvent& event) { seen.push_back(event); });
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->find("uid")->as_integer(), kDefaultWorkerUid);
    EXPECT_EQ(result->find("gid")->as_integer(), kDefaultWorkerUid);
    EXPECT_EQ(result->find("groups")->as_integer(), 0);
    EXPECT_FALSE(result->find("back_to_root")->as_bool());
    EXPECT_TRUE(result->find("no_new_privs")->as_bool());
    EXPECT_TRUE(result->find("no_capabilities")->as_bool());
    EXPECT_FALSE(result->find("reads_shadow")->as_bool());
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0].stage, "refresh");
}

TEST_F(Worker, HasNoTerminalAndLeavesNothingRunning) {
    int holder[2] = {};
    ASSERT_EQ(::pipe(holder), 0);
    auto result = run_worker(kDefaultWorkerUid,
                             [&](int fd) {
                                 // A process of its own that keeps the worker's pipe open and would run on.
                                 if (::fork() == 0) {
                                     ::close(holder[0]);
                                     for (;;) ::pause();
                                 }
                                 const bool own_session = ::getsid(0) == ::getpid();
                                 const bool no_terminal = ::open("/dev/tty", O_RDWR | O_CLOEXEC) < 0;
                                 char link[64] = {};
                                 const bool output_is_null = ::readlink("/proc/self/fd/2", link, sizeof link - 1) > 0 &&
                                                             std::string(link) == "/dev/null";
                                 const json::Value answer =
                                     json::sorted_object({{"own_session", json::Value(own_session)},
                                                          {"no_terminal", json::Value(no_terminal)},
                                                          {"output_is_null", json::Value(output_is_null)}});
                                 return write_all(fd, result_line(answer), "pipe") ? 0 : 1;
                             },
                             {});
    ::close(holder[1]);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_TRUE(result->find("own_session")->as_bool());
    EXPECT_TRUE(result->find("no_terminal")->as_bool());
    EXPECT_TRUE(result->find("output_is_null")->as_bool());
    // The left-behind process was killed with the worker: its end of `holder` is closed.
    char byte = 0;
    EXPECT_EQ(::read(holder[0], &byte, 1), 0);
    ::close(holder[0]);
}

TEST(WorkerText, ControlCharactersAreNotPrinted) {
    EXPECT_EQ(printable("a\x1b[2Jb\rc\x7f d\xc2\x9b e \xc3\xa9"), "a?[2Jb?c? d? e \xc3\xa9");
    auto error = parse_worker_line(R"({"error":{"code":"io","message":"bad\u001b]0;title\u0007"}})");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->error.message, "bad?]0;title?");
}

TEST_F(Worker, ErrorsDeathsAndSilenceAreNotResults) {
    auto failed =
        run_worker(kDefaultWorkerUid,
                   [](int fd) {
                       return write_all(fd, error_line({ErrorCode::not_signed, "too few rebuilders"}), "pipe") ? 1 : 1;
                   },
                   {});
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, ErrorCode::not_signed);
    EXPECT_EQ(failed.error().message, "too few rebuilders");

    auto killed = run_worker(kDefaultWorkerUid,
                             [](int fd) {
                                 (void)write_all(fd, result_line(json::sorted_object({})), "pipe");
                                 ::raise(SIGKILL);
                                 return 0;
                             },
                             {});
    ASSERT_FALSE(killed);
    EXPECT_NE(killed.error().message.find("killed by signal 9"), std::string::npos) << killed.error().message;

    auto silent = run_worker(kDefaultWorkerUid, [](int) { return 0; }, {});
    ASSERT_FALSE(silent);
    EXPECT_NE(silent.error().message.find("no result"), std::string::npos);

    auto garbled = run_worker(kDefaultWorkerUid,
                              [](int fd) { return write_all(fd, "{\"result\": not json}\n", "pipe") ? 0 : 1; }, {});
    ASSERT_FALSE(garbled);
    EXPECT_EQ(garbled.error().code, ErrorCode::parse);

    EXPECT_FALSE(run_worker(0, [](int) { return 0; }, {}));
}

}  // namespace
}  // namespace bulkhead::appstore
