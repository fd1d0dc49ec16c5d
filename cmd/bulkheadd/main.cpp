// bulkheadd: the App-per-VM manager (docs/APP-VM.md). Runs as root, serves the local API on a
// unix socket, and starts every app VM through the jailer under the app's own uid.
#include <linux/capability.h>
#include <pwd.h>
#include <unistd.h>

#include <array>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/capabilities.hpp"
#include "cli/output.hpp"
#include "hcl/kvm_probe.hpp"
#include "manager/daemon.hpp"

namespace {

int run(int argc, char** argv) {
    using namespace bulkhead;
    manager::DaemonConfig config;
    std::vector<std::string> desktop_users;
    std::string accel = "auto";
    CLI::App app{"bulkheadd: runs every app in its own VM, under its own host user", "bulkheadd"};
    app.add_option("--state-dir", config.paths.state_dir, "Apps, their data and logs (default /var/lib/bulkhead)");
    app.add_option("--runtime-dir", config.paths.runtime_dir,
                   "Sockets, jails, run directories (default /run/bulkhead)");
    app.add_option("--socket", config.socket_path, "API socket (default RUNTIME/bulkheadd.sock)");
    app.add_option("--kernel-dir", config.paths.kernel_dir, "Guest kernel: vmlinuz and modules/")->required();
    app.add_option("--module-list", config.paths.module_list, "Guest modules in load order")->required();
    app.add_option("--guest-init", config.paths.guest_init, "The static bulkhead-guest binary")->required();
    app.add_option("--port-forwarder", config.paths.port_forwarder,
                   "bulkhead-port-forward (default: beside this bulkheadd)");
    app.add_option("--desktop-user", desktop_users, "A user who may list, start, stop and watch apps");
    app.add_option("--network-provider", config.network_provider,
                   "The network provider's namespace (e.g. /run/netns/NAME): apps granted network reach out "
                   "through it; without it no app with a network grant starts");
    app.add_option("--accel", accel, "auto (KVM when it really works), kvm or tcg")
        ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error);
    }
    if (config.paths.port_forwarder.empty()) {
        std::error_code error;
        config.paths.port_forwarder =
            (std::filesystem::read_symlink("/proc/self/exe", error).parent_path() / "bulkhead-port-forward").string();
    }
    if (::geteuid() != 0) {
        return cli::report_error({ErrorCode::permission_denied, "bulkheadd runs as root (it creates users and jails)"},
                                 false);
    }
    for (const std::string& name : desktop_users) {
        passwd entry{};
        passwd* user = nullptr;
        std::array<char, 16384> buffer{};
        if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &user) != 0 || user == nullptr) {
            return cli::report_error({ErrorCode::not_found, "no user named " + name}, false);
        }
        config.desktop_uids.push_back(user->pw_uid);
    }
    if (accel == "auto") {
        const hcl::KvmProbeOutcome probe = hcl::probe_kvm("/dev/kvm");
        accel = probe.status == hcl::Status::pass ? "kvm" : "tcg";
        (void)cli::print_text("bulkheadd: KVM " + std::string(accel == "kvm" ? "works" : "is not usable") + " here (" +
                              probe.summary + "); using " + accel + "\n");
    }
    config.paths.accelerator = accel == "kvm" ? vmm::Accelerator::kvm : vmm::Accelerator::tcg;
    // From here on only what managing apps takes: creating users and files for them (chown,
    // DAC, fowner, fsetid, audit for useradd), jails (sys_admin for namespaces and mounts,
    // setuid/setgid/setpcap to drop to the app's uid and empty its capability sets,
    // sys_resource for its limits), signalling VMMs (kill) and the app networks (net_admin for
    // taps, veths, routes and the provider's firewall). No module loading, raw I/O, ptrace or
    // reboot, for bulkheadd or anything it starts.
    if (auto restricted = keep_only_capabilities({CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
                                                  CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP,
                                                  CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CAP_AUDIT_WRITE, CAP_NET_ADMIN});
        !restricted) {
        return cli::report_error(restricted.error(), false);
    }
    auto daemon = manager::Daemon::start(config);
    if (!daemon) return cli::report_error(daemon.error(), false);
    (void)cli::print_text(
        "bulkheadd: serving on " +
        (config.socket_path.empty() ? config.paths.runtime_dir + "/bulkheadd.sock" : config.socket_path) + "\n");
    auto served = (*daemon)->run();
    if (!served) return cli::report_error(served.error(), false);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& unexpected) {
        return bulkhead::cli::report_error(
            {bulkhead::ErrorCode::internal, std::string("internal error: ") + unexpected.what()}, false);
    }
}
