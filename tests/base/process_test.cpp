#include "base/process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "base/unique_fd.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead {
namespace {

TEST(RunProgram, CapturesOutputAndExitCodeWithoutAShell) {
    auto echoed = run_program({"/bin/echo", "a;b", "$(x)"});
    ASSERT_TRUE(echoed) << echoed.error().message;
    EXPECT_EQ(echoed->exit_code, 0);
    EXPECT_EQ(echoed->out, "a;b $(x)\n");  // no shell ever saw it
    auto failed = run_program({"/bin/sh", "-c", "echo oops >&2; exit 3"});
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->exit_code, 3);
    EXPECT_EQ(failed->err, "oops\n");
    auto checked = run_program_checked({"/bin/sh", "-c", "echo oops >&2; exit 3"});
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().message, "/bin/sh failed (exit 3): oops");
}

TEST(RunProgram, TheEnvironmentIsFixed) {
    ::setenv("BULKHEAD_SECRET_TEST", "leak", 1);
    auto env = run_program({"/usr/bin/env"});
    ASSERT_TRUE(env);
    EXPECT_EQ(env->out.find("BULKHEAD_SECRET_TEST"), std::string::npos);
    EXPECT_NE(env->out.find("LC_ALL=C"), std::string::npos);
}

TEST(RunProgram, RelativeAndMissingProgramsAreRefused) {
    EXPECT_FALSE(run_program({"echo", "x"}));
    EXPECT_FALSE(run_program({}));
    auto missing = run_program({"/nonexistent/program"});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("starting /nonexistent/program"), std::string::npos)
        << missing.error().message;
    EXPECT_FALSE(run_program({"/bin/true"}, {.as = std::nullopt, .inherit = {1}}));
}

TEST(RunProgram, InheritedDescriptorsStayOpenAndNoOthers) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const UniqueFd read_end(fds[0]);
    const UniqueFd write_end(fds[1]);
    ASSERT_EQ(::write(write_end.get(), "through fd", 10), 10);
    const std::string path = "/proc/self/fd/" + std::to_string(read_end.get());
    auto kept = run_program({"/usr/bin/head", "-c", "10", path}, {.as = std::nullopt, .inherit = {read_end.get()}});
    ASSERT_TRUE(kept) << kept.error().message;
    EXPECT_EQ(kept->exit_code, 0) << kept->err;
    EXPECT_EQ(kept->out, "through fd");
    auto closed = run_program({"/usr/bin/head", "-c", "1", path});
    ASSERT_TRUE(closed);
    EXPECT_NE(closed->exit_code, 0);  // without `inherit` the program never sees it
}

TEST(RunProgram, RunsWithTheGivenCredentialsAndNoNewPrivileges) {
    if (::geteuid() != 0) GTEST_SKIP() << "changing credentials needs root";
    auto status = run_program({"/bin/grep", "-E", "^(Uid|Gid|Groups|NoNewPrivs):", "/proc/self/status"},
                              {.as = Credentials{65534, 65533}, .inherit = {}});
    ASSERT_TRUE(status) << status.error().message;
    EXPECT_NE(status->out.find("Uid:\t65534\t65534\t65534\t65534"), std::string::npos) << status->out;
    EXPECT_NE(status->out.find("Gid:\t65533\t65533\t65533\t65533"), std::string::npos) << status->out;
    EXPECT_NE(status->out.find("Groups:\t \n"), std::string::npos) << status->out;
    EXPECT_NE(status->out.find("NoNewPrivs:\t1"), std::string::npos) << status->out;
}

}  // namespace
}  // namespace bulkhead

namespace bulkhead {
namespace {

TEST(RunProgramLimits, AProgramPastItsTimeIsKilled) {
    auto slow =
        run_program({"/bin/sleep", "30"}, {.as = std::nullopt, .inherit = {}, .view = -1, .timeout_seconds = 1});
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().code, ErrorCode::timeout);
    EXPECT_NE(slow.error().message.find("did not finish within 1 s"), std::string::npos) << slow.error().message;
}

// The time limit also holds for a program that closes its output and goes on running.
TEST(RunProgramLimits, AProgramThatClosedItsOutputIsStillKilledInTime) {
    const auto started = std::chrono::steady_clock::now();
    auto quiet = run_program({"/bin/sh", "-c", "exec >&- 2>&-; exec /bin/sleep 30"},
                             {.as = std::nullopt, .inherit = {}, .view = -1, .timeout_seconds = 1});
    ASSERT_FALSE(quiet);
    EXPECT_EQ(quiet.error().code, ErrorCode::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

TEST(RunProgramLimits, FilesCannotGrowPastTheLimit) {
    const testing::TempDir dir;
    const std::string target = (dir.path() / "big").string();
    auto capped =
        run_program({"/bin/dd", "if=/dev/zero", "of=" + target, "bs=1M", "count=4", "status=none"},
                    {.as = std::nullopt, .inherit = {}, .view = -1, .timeout_seconds = 0, .max_file_bytes = 1 << 20});
    ASSERT_TRUE(capped);
    EXPECT_NE(capped->exit_code, 0);
    EXPECT_LE(std::filesystem::file_size(target), std::uintmax_t{1} << 20);
}

// The view is the very directory the descriptor names, read-only, at a path nobody else can
// change; the caller's own /mnt is untouched.
TEST(RunProgramLimits, AViewShowsTheOpenedDirectoryReadOnly) {
    if (::geteuid() != 0) GTEST_SKIP() << "a mount namespace needs CAP_SYS_ADMIN";
    const testing::TempDir dir;
    dir.write("tree/inside", "seen");
    const UniqueFd tree(::open((dir.path() / "tree").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(tree.valid());
    // The path is swapped for another directory after the descriptor was opened.
    std::filesystem::rename(dir.path() / "tree", dir.path() / "moved");
    dir.write("tree/decoy", "not this one");
    const std::string view = kReadOnlyViewPath;
    auto listed = run_program({"/bin/cat", view + "/inside"},
                              {.as = Credentials{65534, 65534}, .inherit = {}, .view = tree.get()});
    ASSERT_TRUE(listed) << listed.error().message;
    EXPECT_EQ(listed->out, "seen") << listed->err;
    auto written =
        run_program({"/usr/bin/touch", view + "/new"}, {.as = std::nullopt, .inherit = {}, .view = tree.get()});
    ASSERT_TRUE(written);
    EXPECT_NE(written->exit_code, 0);  // read-only, even for root
    EXPECT_NE(written->err.find("Read-only file system"), std::string::npos) << written->err;
    EXPECT_FALSE(std::filesystem::exists(view));
}

}  // namespace
}  // namespace bulkhead
