#include "hcl/system_checks.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "hcl/report.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::hcl {
namespace {

using testing::TempDir;

KvmProbeOutcome kvm_works() { return KvmProbeOutcome{Status::pass, "KVM ran a test guest", {"/dev/kvm: ok"}, {}}; }
KvmProbeOutcome kvm_broken() {
    return KvmProbeOutcome{Status::fail, "cannot run a guest", {"/dev/kvm: failed at first KVM_RUN"}, {}};
}

Report check_fixture(const std::string& name, const KvmProbeOutcome& kvm) {
    const std::string path = std::string(BULKHEAD_FIXTURES_DIR) + "/hcl/" + name;
    auto root = RootedDir::open(path);
    EXPECT_TRUE(root) << path;
    return make_report(path, run_checks(*root, kvm));
}

Report check_tree(const TempDir& dir, const KvmProbeOutcome& kvm = kvm_works()) {
    auto root = RootedDir::open(dir.str());
    EXPECT_TRUE(root);
    return make_report(dir.str(), run_checks(*root, kvm));
}

const Check& find(const Report& report, const std::string& id) {
    const auto it =
        std::find_if(report.checks.begin(), report.checks.end(), [&id](const Check& check) { return check.id == id; });
    if (it == report.checks.end()) throw std::runtime_error("no check " + id);
    return *it;
}

std::string all_evidence(const Check& check) {
    std::string text;
    for (const std::string& line : check.evidence) text += line + "\n";
    return text;
}

using Ids = std::vector<std::string>;

TEST(SystemChecks, ReportsEveryRequirementInOrder) {
    const Report report = check_fixture("intel-laptop", kvm_works());
    Ids ids;
    for (const Check& check : report.checks) ids.push_back(check.id);
    EXPECT_EQ(ids, (Ids{"cpu.x86_64", "cpu.virtualization", "cpu.slat", "iommu.present", "iommu.enabled",
                        "tpm.version2", "firmware.uefi", "firmware.secure_boot", "kvm.usable", "host.bare_metal"}));
}

TEST(SystemChecks, IntelLaptopQualifies) {
    const Report report = check_fixture("intel-laptop", kvm_works());
    EXPECT_EQ(report.verdict, Verdict::qualifies);
    for (const Check& check : report.checks) EXPECT_EQ(check.status, Status::pass) << check.id << ": " << check.summary;
    EXPECT_EQ(find(report, "cpu.virtualization").summary, "Intel VT-x available");
    EXPECT_EQ(find(report, "cpu.slat").summary, "Intel EPT available");
    EXPECT_NE(all_evidence(find(report, "iommu.present"))
                  .find("2 DMA remapping unit(s), 39-bit host address width, "
                        "interrupt remapping supported"),
              std::string::npos);
    EXPECT_EQ(find(report, "iommu.enabled").summary, "2 IOMMU unit(s) active");
    EXPECT_EQ(find(report, "tpm.version2").summary, "tpm0 is a TPM 2.0");
    EXPECT_EQ(find(report, "firmware.secure_boot").summary, "supported and enabled");
    EXPECT_NE(all_evidence(find(report, "kvm.usable")).find("KVM modules loaded: kvm, kvm_intel"), std::string::npos);
}

TEST(SystemChecks, AmdDesktopQualifies) {
    const Report report = check_fixture("amd-desktop", kvm_works());
    EXPECT_EQ(report.verdict, Verdict::qualifies);
    EXPECT_EQ(find(report, "cpu.virtualization").summary, "AMD-V available");
    EXPECT_EQ(find(report, "cpu.slat").summary, "AMD NPT available");
    EXPECT_EQ(find(report, "iommu.present").summary, "AMD-Vi described (IVRS)");
    EXPECT_EQ(find(report, "firmware.secure_boot").summary, "supported, in setup mode (ready for your own keys)");
}

TEST(SystemChecks, MachineWithoutIommuDoesNotQualify) {
    const Report report = check_fixture("no-iommu", kvm_works());
    EXPECT_EQ(report.verdict, Verdict::does_not_qualify);
    EXPECT_EQ(report.missing, (Ids{"iommu.present", "iommu.enabled"}));
    const Check& present = find(report, "iommu.present");
    EXPECT_EQ(present.summary, "no IOMMU described");
    EXPECT_NE(present.remedy.find("enable VT-d / AMD-Vi"), std::string::npos);
}

TEST(SystemChecks, Tpm12MachineDoesNotQualify) {
    const Report report = check_fixture("tpm12", kvm_works());
    EXPECT_EQ(report.verdict, Verdict::does_not_qualify);
    EXPECT_EQ(report.missing, (Ids{"tpm.version2"}));
    EXPECT_EQ(find(report, "tpm.version2").summary, "only a TPM 1.2 found");
    EXPECT_EQ(find(report, "firmware.secure_boot").summary, "supported, currently disabled");
}

TEST(SystemChecks, VmGuestLikeTheBuildMachineDoesNotQualify) {
    const Report report = check_fixture("vm-guest", kvm_broken());
    EXPECT_EQ(report.verdict, Verdict::does_not_qualify);
    EXPECT_EQ(report.missing, (Ids{"cpu.virtualization", "cpu.slat", "iommu.present", "iommu.enabled", "tpm.version2",
                                   "firmware.uefi", "firmware.secure_boot", "kvm.usable"}));
    EXPECT_EQ(find(report, "cpu.x86_64").status, Status::pass);
    const Check& bare = find(report, "host.bare_metal");
    EXPECT_EQ(bare.status, Status::fail);
    EXPECT_FALSE(bare.required);
    EXPECT_NE(find(report, "cpu.virtualization").remedy.find("nested virtualization"), std::string::npos);
    EXPECT_EQ(find(report, "firmware.uefi").summary, "booted in legacy BIOS mode");
    EXPECT_NE(all_evidence(find(report, "kvm.usable")).find("kvm, kvm_pvm"), std::string::npos);
}

TEST(SystemChecks, KvmNotProbedLeavesVerdictUndetermined) {
    const Report report = check_fixture("intel-laptop", kvm_not_probed("--root given"));
    EXPECT_EQ(report.verdict, Verdict::undetermined);
    EXPECT_TRUE(report.missing.empty());
    EXPECT_EQ(report.undecided, (Ids{"kvm.usable"}));
}

TEST(SystemChecks, EmptyTreeGivesUnknownsNotCrashes) {
    const TempDir dir;
    const Report report = check_tree(dir);
    EXPECT_EQ(report.verdict, Verdict::undetermined);
    for (const Check& check : report.checks) {
        if (check.id == "kvm.usable") continue;
        EXPECT_EQ(check.status, Status::unknown) << check.id << ": " << check.summary;
        EXPECT_FALSE(check.evidence.empty()) << check.id;
    }
    EXPECT_NE(all_evidence(find(report, "cpu.x86_64")).find(dir.str() + "/proc/cpuinfo"), std::string::npos);
}

TEST(SystemChecks, MalformedCpuinfoIsUnknownWithTheReason) {
    const TempDir dir;
    dir.write("proc/cpuinfo", "processor : 0\nflags lm\n");
    const Report report = check_tree(dir);
    const Check& arch = find(report, "cpu.x86_64");
    EXPECT_EQ(arch.status, Status::unknown);
    EXPECT_NE(all_evidence(arch).find("cpuinfo line 2: expected 'key : value'"), std::string::npos)
        << all_evidence(arch);
}

TEST(SystemChecks, CpuWithoutLongModeOrSlat) {
    const TempDir dir;
    dir.write("proc/cpuinfo", "processor : 0\nvendor_id : GenuineIntel\nflags : fpu vmx\n\n");
    const Report report = check_tree(dir);
    EXPECT_EQ(find(report, "cpu.x86_64").status, Status::fail);
    EXPECT_EQ(find(report, "cpu.x86_64").summary, "32-bit x86 CPU");
    EXPECT_EQ(find(report, "cpu.virtualization").status, Status::pass);
    EXPECT_EQ(find(report, "cpu.slat").summary, "CPU has no EPT/NPT");
}

TEST(SystemChecks, MalformedDmarFails) {
    const TempDir dir;
    dir.write("sys/firmware/acpi/tables/DMAR", "DMAR-garbage");
    const Report report = check_tree(dir);
    const Check& present = find(report, "iommu.present");
    EXPECT_EQ(present.status, Status::fail);
    EXPECT_EQ(present.summary, "IOMMU table present but malformed");
    EXPECT_NE(all_evidence(present).find("present but malformed: DMAR table: only 12 bytes"), std::string::npos);
}

TEST(SystemChecks, TpmWithoutVersionIsUnknown) {
    const TempDir dir;
    dir.mkdir("sys/class/tpm/tpm0");
    const Report report = check_tree(dir);
    EXPECT_EQ(find(report, "tpm.version2").status, Status::unknown);
}

TEST(SystemChecks, MalformedSecureBootVariableIsUnknown) {
    const TempDir dir;
    dir.write("sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
              std::string("\x06\x00\x00", 3));
    const Report report = check_tree(dir);
    EXPECT_EQ(find(report, "firmware.uefi").status, Status::pass);
    const Check& secure_boot = find(report, "firmware.secure_boot");
    EXPECT_EQ(secure_boot.status, Status::unknown);
    EXPECT_NE(all_evidence(secure_boot).find("expected 4 attribute bytes and 1 value byte, got 3 bytes"),
              std::string::npos);
}

TEST(SystemChecks, UefiWithoutSecureBootVariableFails) {
    const TempDir dir;
    dir.mkdir("sys/firmware/efi/efivars");
    const Report report = check_tree(dir);
    EXPECT_EQ(find(report, "firmware.secure_boot").status, Status::fail);
    EXPECT_EQ(find(report, "firmware.secure_boot").summary, "firmware has no Secure Boot");
}

TEST(EfiBooleanVariable, Parses) {
    EXPECT_EQ(*parse_efi_boolean_variable(std::string("\x06\0\0\0\x01", 5)), true);
    EXPECT_EQ(*parse_efi_boolean_variable(std::string("\x06\0\0\0\0", 5)), false);
    EXPECT_FALSE(parse_efi_boolean_variable(std::string("\x06\0\0\0\x02", 5)));
    EXPECT_FALSE(parse_efi_boolean_variable(std::string("\x06\0\0\0\x01\x01", 6)));
}

}  // namespace
}  // namespace bulkhead::hcl
