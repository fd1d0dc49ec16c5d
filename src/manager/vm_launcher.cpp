#include "manager/vm_launcher.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>

#include "apps/installer.hpp"
#include "base/file_io.hpp"
#include "base/text.hpp"
#include "guest/run_spec.hpp"
#include "jailer/jail.hpp"
#include "vmimage/initramfs.hpp"

namespace bulkhead::manager {

namespace {

namespace fs = std::filesystem;

// Guest RAM plus what QEMU itself needs under TCG (translation cache, heap): the cgroup limit.
constexpr std::uint64_t kVmmOverheadBytes = std::uint64_t{256} << 20;
constexpr int kRunDirMib = 16;

Result<void> make_dir(const std::string& path, uid_t owner, mode_t mode) {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return fail(Error::from_errno(errno, "creating " + path));
    if (::chown(path.c_str(), owner, owner) != 0 || ::chmod(path.c_str(), mode) != 0) {
        return fail(Error::from_errno(errno, "setting the owner of " + path));
    }
    return {};
}

}  // namespace

std::string run_dir(const HostPaths& paths, const std::string& app) { return paths.runtime_dir + "/vm/" + app; }

Result<std::string> prepare_jail_root(const HostPaths& paths, const std::string& name) {
    for (const std::string& dir : {paths.runtime_dir, paths.runtime_dir + "/jail"}) {
        if (auto made = make_dir(dir, 0, 0755); !made) return fail(made.error());
    }
    const std::string jail = paths.runtime_dir + "/jail/" + name;
    if (auto made = make_dir(jail, 0, 0755); !made) return fail(made.error());
    std::error_code error;
    for (const char* link : {"lib", "lib64", "bin"}) {
        const fs::path target = fs::path(jail) / link;
        if (!fs::is_symlink(target, error)) fs::create_directory_symlink(std::string("usr/") + link, target, error);
    }
    return jail;
}

std::optional<std::uint64_t> process_start_ticks(pid_t pid) {
    auto stat = read_file_bounded("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (!stat) return std::nullopt;
    // The command name may hold spaces and parentheses: count fields after the last ')'.
    const std::size_t close = stat->rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::size_t at = close + 2;
    for (int field = 3; field < 22 && at != std::string::npos; ++field) at = stat->find(' ', at) + 1;
    if (at == 0 || at >= stat->size()) return std::nullopt;
    return std::stoull(stat->substr(at, stat->find(' ', at) - at));
}

Result<LaunchedVm> launch_vm(const HostPaths& paths, const apps::AppRecord& app, const apps::AppDefinition& definition,
                             const vmm::Backend& backend, const std::optional<VmNetwork>& network,
                             const std::vector<ShareToServe>& shares) {
    for (const std::string& dir : {paths.runtime_dir, paths.runtime_dir + "/vm", paths.runtime_dir + "/jail"}) {
        if (auto made = make_dir(dir, 0, 0755); !made) return fail(made.error());
    }
    // Nothing of this app may still run: its run directory is writable by the app's uid, and
    // root is about to replace it.
    auto cgroup = jailer::Cgroup::create(
        paths.cgroup_root, app.name,
        {(std::uint64_t{definition.memory_mib} << 20) + kVmmOverheadBytes, 256, 100 * definition.vcpus});
    if (!cgroup) return fail(cgroup.error());
    auto busy = cgroup->has_processes();
    if (!busy) return fail(busy.error());
    if (*busy) return fail(ErrorCode::invalid_argument, "a process of app " + app.name + " is still running");

    // The run directory (sockets, console log) is a small tmpfs of its own, so a VMM can never
    // fill the host's /run; a new one replaces the last without looking inside it.
    const std::string run = run_dir(paths, app.name);
    const std::string jail = paths.runtime_dir + "/jail/" + app.name;
    std::error_code error;
    (void)::umount2(run.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    if (auto made = make_dir(run, 0, 0700); !made) return fail(made.error());
    const std::string options = "size=" + std::to_string(kRunDirMib) + "m,mode=0700,uid=" + std::to_string(app.uid) +
                                ",gid=" + std::to_string(app.uid);
    if (::mount("tmpfs", run.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) != 0) {
        return fail(Error::from_errno(errno, "mounting the run directory " + run));
    }
    if (auto made = prepare_jail_root(paths, app.name); !made) return fail(made.error());

    // The app's initramfs: its command line and environment.
    std::vector<std::string> argv{definition.command};
    argv.insert(argv.end(), definition.args.begin(), definition.args.end());
    std::vector<std::string> env;
    env.reserve(definition.env.size());
    for (const auto& [name, value] : definition.env) env.push_back(concat({name, "=", value}));
    auto spec = guest::make_run_spec(std::move(argv), std::move(env));
    if (!spec) return fail(spec.error());
    spec->restart = definition.restart == apps::RestartPolicy::always       ? guest::Restart::always
                    : definition.restart == apps::RestartPolicy::on_failure ? guest::Restart::on_failure
                                                                            : guest::Restart::never;
    if (network) spec->network = network->guest;
    for (std::size_t i = 0; i < shares.size(); ++i) {
        spec->shares.push_back({"files" + std::to_string(i), shares[i].path, shares[i].writable});
    }
    auto modules = vmimage::read_module_list(paths.module_list);
    if (!modules) return fail(modules.error());
    auto initramfs = vmimage::build_app_initramfs({paths.guest_init, paths.kernel_dir + "/modules", *modules}, *spec);
    if (!initramfs) return fail(initramfs.error());
    // Root-owned, outside anything the app's uid can write; bound read-only into the jail.
    if (auto made = make_dir(paths.runtime_dir + "/initrd", 0, 0755); !made) return fail(made.error());
    const std::string initrd = paths.runtime_dir + "/initrd/" + app.name;
    if (auto written = write_file_atomically(initrd, *initramfs, 0644, false); !written) return fail(written.error());

    const std::string data = apps::app_dir(paths.state_dir, app.name);
    const bool has_state = fs::exists(data + "/state.img", error);
    vmm::VmSpec vm;
    vm.name = app.name;
    vm.kernel = "/vm/vmlinuz";
    vm.initrd = "/vm/initrd";
    vm.root_image = "/vm/root.erofs";
    if (has_state) vm.state_image = "/vm/state.img";
    vm.memory_mib = definition.memory_mib;
    vm.vcpus = definition.vcpus;
    vm.accelerator = paths.accelerator;
    vm.console_log = "/run/vm/console.log";
    vm.qmp_socket = "/run/vm/qmp.sock";
    vm.control_socket = "/run/vm/control.sock";
    constexpr int kTapFdInVmm = 3;
    if (network) vm.network = vmm::NetworkDevice{kTapFdInVmm, network->mac};
    // A file server per share, listening in the run directory before the VMM connects to it.
    std::vector<pid_t> servers;
    auto stop_servers = [&servers] {
        for (const pid_t server : servers) {
            ::kill(server, SIGKILL);  // our unreaped children: the numbers are theirs
            ::waitpid(server, nullptr, 0);
        }
    };
    for (std::size_t i = 0; i < shares.size(); ++i) {
        const std::string socket = "files" + std::to_string(i) + ".sock";
        auto server = serve_share(shares[i], concat({run, "/", socket}), app.uid);
        if (!server) {
            stop_servers();
            return fail(server.error());
        }
        servers.push_back(*server);
        vm.shares.push_back({"/run/vm/" + socket, "files" + std::to_string(i)});
    }
    auto command = backend.command_line(vm);
    if (!command) {
        stop_servers();
        return fail(command.error());
    }

    jailer::JailSpec spec_jail;
    spec_jail.uid = app.uid;
    spec_jail.gid = app.uid;
    spec_jail.root = jail;
    spec_jail.binds = {{"/usr", "/usr", false},
                       {paths.kernel_dir + "/vmlinuz", "/vm/vmlinuz", false},
                       {initrd, "/vm/initrd", false},
                       {data + "/root.erofs", "/vm/root.erofs", false},
                       {run, "/run/vm", true}};
    if (has_state) spec_jail.binds.push_back({data + "/state.img", "/vm/state.img", true});
    spec_jail.devices = {"/dev/null", "/dev/urandom"};
    if (paths.accelerator == vmm::Accelerator::kvm) spec_jail.devices.emplace_back("/dev/kvm");
    spec_jail.argv = *command;
    spec_jail.env = {"PATH=/usr/bin"};
    if (network) spec_jail.pass_fds.emplace_back(network->tap_fd, kTapFdInVmm);
    auto jailed = jailer::spawn_jailed(spec_jail, *cgroup);
    if (!jailed) {
        stop_servers();
        return fail(jailed.error());
    }
    LaunchedVm launched{jailed->pid,           process_start_ticks(jailed->pid).value_or(0),
                        run + "/control.sock", run + "/console.log",
                        std::move(*cgroup),    std::move(servers)};
    return launched;
}

}  // namespace bulkhead::manager
