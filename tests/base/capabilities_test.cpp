#include "base/capabilities.hpp"

#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/process.hpp"

namespace bulkhead {
namespace {

TEST(Capabilities, OnlyTheKeptOnesRemainForTheProcessAndWhatItStarts) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root's capabilities to drop";
    const pid_t child = ::fork();
    if (child == 0) {
        // Exit codes say which check failed.
        if (!keep_only_capabilities({CAP_KILL, CAP_CHOWN})) ::_exit(2);
        auto effective = effective_capabilities();
        const std::uint64_t expected = (std::uint64_t{1} << CAP_KILL) | (std::uint64_t{1} << CAP_CHOWN);
        if (!effective || *effective != expected) ::_exit(3);
        // A program it starts as root gets no more than the bounding set.
        auto status = run_program({"/bin/grep", "-E", "^Cap(Eff|Bnd|Prm|Inh|Amb):", "/proc/self/status"});
        if (!status || status->out !=
                           "CapInh:\t0000000000000000\nCapPrm:\t0000000000000021\n"
                           "CapEff:\t0000000000000021\nCapBnd:\t0000000000000021\n"
                           "CapAmb:\t0000000000000000\n") {
            ::_exit(4);
        }
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Capabilities, UnknownNumbersAreRefused) {
    EXPECT_FALSE(keep_only_capabilities({64}));
    EXPECT_FALSE(keep_only_capabilities({-1}));
}

}  // namespace
}  // namespace bulkhead
