// Runs the real `bulkhead` executable the way a user or a script would.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead {
namespace {

using testing::ProcessResult;

ProcessResult bulkhead(std::vector<std::string> args) {
    args.insert(args.begin(), std::string(BULKHEAD_BIN_DIR) + "/bulkhead");
    return testing::run_process(args);
}

std::string fixture(const std::string& name) { return std::string(BULKHEAD_FIXTURES_DIR) + "/hcl/" + name; }

TEST(BulkheadCli, HelpOnEveryLevel) {
    const ProcessResult top = bulkhead({"--help"});
    EXPECT_EQ(top.exit_code, 0);
    EXPECT_NE(top.out.find("hcl"), std::string::npos) << top.out;
    EXPECT_NE(top.out.find("Exit codes: 0 ok, 1 check failed or operation refused, 2 usage error"), std::string::npos);
    const ProcessResult hcl = bulkhead({"hcl", "--help"});
    EXPECT_EQ(hcl.exit_code, 0);
    EXPECT_NE(hcl.out.find("--root"), std::string::npos) << hcl.out;
    EXPECT_NE(hcl.out.find("--json"), std::string::npos);
}

TEST(BulkheadCli, Version) {
    const ProcessResult version = bulkhead({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_FALSE(version.out.empty());
}

TEST(BulkheadCli, UsageErrorsExitTwoWithAHint) {
    const ProcessResult none = bulkhead({});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_NE(none.err.find("Run 'bulkhead --help' for usage."), std::string::npos) << none.err;

    const ProcessResult unknown = bulkhead({"frobnicate"});
    EXPECT_EQ(unknown.exit_code, 2);

    const ProcessResult bad_option = bulkhead({"hcl", "--no-such-option"});
    EXPECT_EQ(bad_option.exit_code, 2);
    EXPECT_NE(bad_option.err.find("Run 'bulkhead hcl --help' for usage."), std::string::npos) << bad_option.err;

    const ProcessResult missing_root = bulkhead({"hcl", "--root", "/nonexistent/tree"});
    EXPECT_EQ(missing_root.exit_code, 2);
    EXPECT_NE(missing_root.err.find("/nonexistent/tree"), std::string::npos) << missing_root.err;
    EXPECT_TRUE(missing_root.out.empty());
}

TEST(BulkheadCli, HclJsonOnFixtureTrees) {
    struct Case {
        std::string tree;
        std::string verdict;
        int exit_code;
        std::vector<std::string> missing;
    };
    const std::vector<Case> cases = {
        {"intel-laptop", "undetermined", 1, {}},
        {"amd-desktop", "undetermined", 1, {}},
        {"no-iommu", "does-not-qualify", 1, {"iommu.present", "iommu.enabled"}},
        {"tpm12", "does-not-qualify", 1, {"tpm.version2"}},
        {"vm-guest",
         "does-not-qualify",
         1,
         {"cpu.virtualization", "cpu.slat", "iommu.present", "iommu.enabled", "tpm.version2", "firmware.uefi",
          "firmware.secure_boot"}},
    };
    for (const Case& c : cases) {
        const ProcessResult result = bulkhead({"hcl", "--root", fixture(c.tree), "--json"});
        EXPECT_EQ(result.exit_code, c.exit_code) << c.tree << result.err;
        const nlohmann::json report = nlohmann::json::parse(result.out, nullptr, false);
        ASSERT_FALSE(report.is_discarded()) << c.tree << ": not JSON: " << result.out;
        EXPECT_EQ(report["verdict"], c.verdict) << c.tree;
        EXPECT_EQ(report["missing"].get<std::vector<std::string>>(), c.missing) << c.tree;
        // Under --root the live probe is never run: it would examine this machine, not the tree.
        const auto& checks = report["checks"];
        const auto kvm =
            std::find_if(checks.begin(), checks.end(), [](const auto& check) { return check["id"] == "kvm.usable"; });
        ASSERT_NE(kvm, checks.end());
        EXPECT_EQ((*kvm)["status"], "unknown") << c.tree;
    }
}

TEST(BulkheadCli, HclTextReportNamesWhatIsMissing) {
    const ProcessResult result = bulkhead({"hcl", "--root", fixture("tpm12")});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.out.find("FAIL     TPM 2.0: only a TPM 1.2 found"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("Verdict: this machine does NOT qualify for Bulkhead."), std::string::npos);
    EXPECT_NE(result.out.find("Missing: TPM 2.0"), std::string::npos);
}

bool path_exists(const std::string& path) {
    std::error_code ignored;
    return std::filesystem::exists(path, ignored);
}

bool directory_has_entry_starting_with(const std::string& dir, const std::string& prefix) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        if (entry.path().filename().string().rfind(prefix, 0) == 0) return true;
    }
    return false;
}

// The live report must agree with facts read here independently (std::filesystem and a plain
// scan of /proc/cpuinfo), whatever machine the tests run on. On the project's build machines
// (x86-64 VMs without VT-x/AMD-V, IOMMU or TPM, with an unusable paravirtual /dev/kvm) this
// means "does not qualify" with each of those named.
TEST(BulkheadCli, HclOnThisMachineAgreesWithTheFilesystem) {
    const ProcessResult result = bulkhead({"hcl", "--json"});
    const nlohmann::json report = nlohmann::json::parse(result.out, nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << result.out << result.err;
    EXPECT_EQ(report["schema"], "bulkhead.hcl/1");
    EXPECT_EQ(report["root"], "/");
    std::map<std::string, std::string> status;
    for (const auto& check : report["checks"]) status[check["id"]] = check["status"];

    const std::string cpuinfo = testing::read_whole_file("/proc/cpuinfo");
    auto has_flag = [&cpuinfo](const std::string& flag) {
        return cpuinfo.find(" " + flag + " ") != std::string::npos ||
               cpuinfo.find(" " + flag + "\n") != std::string::npos;
    };
    const bool virtualization = has_flag("vmx") || has_flag("svm");
    EXPECT_EQ(status["cpu.x86_64"], has_flag("lm") ? "pass" : "fail");
    EXPECT_EQ(status["cpu.virtualization"], virtualization ? "pass" : "fail");
    EXPECT_EQ(status["host.bare_metal"], has_flag("hypervisor") ? "fail" : "pass");
    EXPECT_EQ(status["firmware.uefi"], path_exists("/sys/firmware/efi") ? "pass" : "fail");
    if (!path_exists("/sys/firmware/acpi/tables/DMAR") && !path_exists("/sys/firmware/acpi/tables/IVRS")) {
        EXPECT_EQ(status["iommu.present"], "fail");
    }
    EXPECT_EQ(status["iommu.enabled"], directory_has_entry_starting_with("/sys/class/iommu", "") ? "pass" : "fail");
    if (!directory_has_entry_starting_with("/sys/class/tpm", "tpm")) {
        EXPECT_EQ(status["tpm.version2"], "fail");
    }
    if (!virtualization && path_exists("/dev/kvm") && ::geteuid() == 0) {
        // A /dev/kvm without VT-x/AMD-V underneath must be found unusable, not merely present.
        EXPECT_EQ(status["kvm.usable"], "fail");
    }

    const bool qualifies = report["verdict"] == "qualifies";
    EXPECT_EQ(result.exit_code, qualifies ? 0 : 1);
    if (!virtualization) {
        EXPECT_EQ(report["verdict"], "does-not-qualify");
        const auto missing = report["missing"].get<std::vector<std::string>>();
        EXPECT_NE(std::find(missing.begin(), missing.end(), "cpu.virtualization"), missing.end());
    }
}

TEST(BulkheadCli, KeysGenerateEncryptsAndNeverOverwrites) {
    const testing::TempDir dir;
    const auto passphrase = dir.write("passphrase", "a long passphrase\n");
    const std::string key = (dir.path() / "root.key").string();
    const ProcessResult made = bulkhead(
        {"keys", "generate", "--type", "ed25519", "--out", key, "--passphrase-file", passphrase.string(), "--json"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const nlohmann::json generated = nlohmann::json::parse(made.out, nullptr, false);
    ASSERT_FALSE(generated.is_discarded()) << made.out;
    EXPECT_EQ(generated["schema"], "bulkhead.key/1");
    EXPECT_EQ(generated["key"]["keytype"], "ed25519");
    EXPECT_EQ(std::filesystem::status(key).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const std::string contents = testing::read_whole_file(key);
    EXPECT_NE(contents.find("scrypt-aes-256-gcm"), std::string::npos);
    EXPECT_EQ(contents.find("pkcs8"), std::string::npos);

    const ProcessResult shown = bulkhead({"keys", "public", key, "--json"});
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_EQ(nlohmann::json::parse(shown.out)["keyid"], generated["keyid"]);

    const ProcessResult again =
        bulkhead({"keys", "generate", "--type", "ed25519", "--out", key, "--passphrase-file", passphrase.string()});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("already exists"), std::string::npos);
    EXPECT_EQ(testing::read_whole_file(key), contents);
}

TEST(BulkheadCli, KeysRefuseBadRequests) {
    const testing::TempDir dir;
    const std::string key = (dir.path() / "k").string();
    EXPECT_EQ(bulkhead({"keys", "generate", "--type", "rsa-1024", "--out", key, "--insecure-plaintext"}).exit_code, 2);
    EXPECT_EQ(bulkhead({"keys", "generate", "--type", "ed25519"}).exit_code, 2);
    EXPECT_EQ(bulkhead({"keys", "public", (dir.path() / "missing").string()}).exit_code, 2);
    const auto garbage = dir.write("garbage.key", "{}");
    const ProcessResult result = bulkhead({"keys", "public", garbage.string()});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("neither a bulkhead-key/1 key file nor a bulkhead.key/1 public key"), std::string::npos)
        << result.err;
    EXPECT_FALSE(std::filesystem::exists(key));
}

}  // namespace
}  // namespace bulkhead
