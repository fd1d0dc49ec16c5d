#include "base/process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/unique_fd.hpp"

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
