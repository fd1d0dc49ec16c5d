#include "base/process.hpp"

#include <gtest/gtest.h>

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
    EXPECT_FALSE(run_program({"/nonexistent/program"}));
}

}  // namespace
}  // namespace bulkhead
