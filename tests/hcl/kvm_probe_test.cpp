#include "hcl/kvm_probe.hpp"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "hcl/cpuinfo.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::hcl {
namespace {

std::string evidence_of(const KvmProbeOutcome& outcome) {
    std::string text;
    for (const std::string& line : outcome.evidence) text += line + "\n";
    return text;
}

TEST(KvmProbe, MissingDeviceFails) {
    const KvmProbeOutcome outcome = probe_kvm("/nonexistent/kvm");
    EXPECT_EQ(outcome.status, Status::fail);
    EXPECT_EQ(outcome.summary, "no KVM device");
}

TEST(KvmProbe, RegularFileIsNotADevice) {
    const testing::TempDir dir;
    const auto file = dir.write("kvm", "");
    const KvmProbeOutcome outcome = probe_kvm(file.string());
    EXPECT_EQ(outcome.status, Status::fail);
    EXPECT_NE(outcome.summary.find("not a character device"), std::string::npos);
}

TEST(KvmProbe, CharacterDeviceThatIsNotKvmFailsAtApiVersion) {
    const KvmProbeOutcome outcome = probe_kvm("/dev/null");
    EXPECT_EQ(outcome.status, Status::fail);
    EXPECT_NE(evidence_of(outcome).find("failed at KVM_GET_API_VERSION"), std::string::npos) << evidence_of(outcome);
}

// On this machine's kind /dev/kvm exists but cannot run an ordinary guest (no VT-x/AMD-V is
// exposed); on a machine that exposes them, the probe must pass. Either way it must agree with
// what the CPU reports, and never claim a usable KVM without hardware virtualization.
TEST(KvmProbe, AgreesWithTheHostCpu) {
    if (!std::filesystem::exists("/dev/kvm")) GTEST_SKIP() << "no /dev/kvm on this machine";
    if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "not allowed to open /dev/kvm";
    const std::string text = testing::read_whole_file("/proc/cpuinfo");
    auto cpu = parse_cpuinfo(text);
    ASSERT_TRUE(cpu) << cpu.error().message;
    const bool hardware_virtualization = cpu->has_flag("vmx") || cpu->has_flag("svm");

    const KvmProbeOutcome outcome = probe_kvm("/dev/kvm");
    if (hardware_virtualization) {
        EXPECT_EQ(outcome.status, Status::pass) << evidence_of(outcome);
    } else {
        EXPECT_EQ(outcome.status, Status::fail) << evidence_of(outcome);
        EXPECT_EQ(outcome.summary, "/dev/kvm is present but cannot run an ordinary guest") << evidence_of(outcome);
    }
}

TEST(KvmProbe, NotProbedIsUnknownWithReason) {
    const KvmProbeOutcome outcome = kvm_not_probed("--root /x");
    EXPECT_EQ(outcome.status, Status::unknown);
    EXPECT_EQ(outcome.evidence, std::vector<std::string>{"--root /x"});
}

}  // namespace
}  // namespace bulkhead::hcl
