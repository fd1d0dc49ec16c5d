// Starting one app's VM: its initramfs (with the app's run spec), its run directory (owned by
// the app's uid: sockets and console log), its jail (only /usr, the kernel, initrd, root image
// and state disk, read-only except the state disk and run directory), its cgroup, then the
// jailed VMM.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/definition.hpp"
#include "apps/registry.hpp"
#include "base/result.hpp"
#include "guest/run_spec.hpp"
#include "jailer/cgroup.hpp"
#include "manager/file_shares.hpp"
#include "vmm/backend.hpp"

namespace bulkhead::manager {

struct HostPaths {
    std::string state_dir = "/var/lib/bulkhead";
    std::string runtime_dir = "/run/bulkhead";
    std::string kernel_dir;      // vmlinuz and modules/ (scripts/fetch-guest-kernel.sh)
    std::string module_list;     // deps/guest-kernel-modules.txt
    std::string guest_init;      // the static bulkhead-guest
    std::string port_forwarder;  // bulkhead-port-forward (expose-port)
    std::string cgroup_root = "/sys/fs/cgroup";
    vmm::Accelerator accelerator = vmm::Accelerator::tcg;
};

struct LaunchedVm {
    pid_t pid = -1;
    std::uint64_t start_ticks = 0;  // from /proc/PID/stat: tells a re-used pid from ours
    std::string control_socket;     // host path
    std::string console_log;        // host path
    std::optional<jailer::Cgroup> cgroup;
    std::vector<pid_t> file_servers;  // one virtiofsd per share
};

// The run directory of an app: RUNTIME/vm/<name>.
std::string run_dir(const HostPaths& paths, const std::string& app);

// An empty jail root, RUNTIME/jail/<name> (root's, 0755), with lib, lib64 and bin leading into
// the /usr every jail gets bound.
Result<std::string> prepare_jail_root(const HostPaths& paths, const std::string& name);

// The VM's network device, when it gets one: the tap (in the app's network namespace) the VMM
// is handed, and the addresses the guest configures.
struct VmNetwork {
    int tap_fd = -1;  // the caller's; it stays open until the call returns
    std::string mac;
    guest::GuestNetwork guest;
};

Result<LaunchedVm> launch_vm(const HostPaths& paths, const apps::AppRecord& app, const apps::AppDefinition& definition,
                             const vmm::Backend& backend, const std::optional<VmNetwork>& network = std::nullopt,
                             const std::vector<ShareToServe>& shares = {});

// Field 22 of /proc/PID/stat (start time in clock ticks), or nothing if the process is gone.
std::optional<std::uint64_t> process_start_ticks(pid_t pid);

}  // namespace bulkhead::manager
