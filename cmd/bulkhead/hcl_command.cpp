#include <cstdlib>
#include <memory>
#include <string>

#include "base/rooted_dir.hpp"
#include "cli/output.hpp"
#include "commands.hpp"
#include "hcl/kvm_probe.hpp"
#include "hcl/report.hpp"
#include "hcl/system_checks.hpp"

namespace bulkhead::cmd {

namespace {

struct HclOptions {
    std::string root = "/";
    bool json = false;
};

bool is_real_root(const std::string& path) {
    std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr), &std::free);
    return resolved && std::string(resolved.get()) == "/";
}

int run_hcl(const HclOptions& options) {
    auto root = RootedDir::open(options.root);
    if (!root) return cli::report_error(root.error(), options.json);

    const hcl::KvmProbeOutcome kvm =
        is_real_root(options.root)
            ? hcl::probe_kvm("/dev/kvm")
            : hcl::kvm_not_probed("--root " + options.root + ": the live KVM probe only runs on the machine itself");
    const hcl::Report report = hcl::make_report(options.root, hcl::run_checks(*root, kvm));

    const bool printed =
        options.json ? cli::print_json(hcl::report_to_json(report)) : cli::print_text(hcl::report_to_text(report));
    if (!printed) return cli::report_error({ErrorCode::io, "could not write the report to standard output"}, false);
    return report.verdict == hcl::Verdict::qualifies ? cli::kExitOk : cli::kExitRefused;
}

}  // namespace

CommandRunner register_hcl(CLI::App& app) {
    auto options = std::make_shared<HclOptions>();
    CLI::App* hcl = app.add_subcommand(
        "hcl",
        "Check whether this machine meets Bulkhead's hardware requirements (VT-x/AMD-V, EPT/NPT, IOMMU, "
        "TPM 2.0, UEFI Secure Boot, usable KVM). Exit 0: qualifies; 1: does not qualify or undetermined.");
    hcl->add_option("--root", options->root,
                    "Examine the system tree under DIR (its proc/ and sys/) instead of this machine; the live KVM "
                    "probe is skipped")
        ->type_name("DIR")
        ->check(CLI::ExistingDirectory);
    hcl->add_flag("--json", options->json, "Print the report as JSON (schema bulkhead.hcl/1)");
    return [hcl, options]() -> int {
        if (!hcl->parsed()) return -1;
        return run_hcl(*options);
    };
}

}  // namespace bulkhead::cmd
