// bulkheadd's core: the app registry and every app VM, driven by one single-threaded poll loop
// (so the jailer's clone never races another thread). Its local API is a unix socket speaking
// "bulkhead.api/1": one JSON request per line, one JSON response per line (docs/API.md). Callers
// are identified by SO_PEERCRED: root may do everything, the configured desktop users may list,
// start, stop and read status and logs; installing and removing apps needs root.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "manager/vm_launcher.hpp"

namespace bulkhead::manager {

struct DaemonConfig {
    HostPaths paths;
    std::string socket_path;          // default RUNTIME/bulkheadd.sock
    std::vector<uid_t> desktop_uids;  // besides root
    // The network provider's namespace (a held nsfs file, as `ip netns add` makes): where app
    // VMs granted network reach the outside, through its NAT and bulkheadd's firewall. Empty:
    // no app may be started with a network grant.
    std::string network_provider;
};

class Daemon {
public:
    // Binds the API socket and re-attaches to VMs a previous bulkheadd left running (a VM whose
    // process is gone, or is not the one recorded, is reported as crashed).
    static Result<std::unique_ptr<Daemon>> start(DaemonConfig config);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;
    Daemon(Daemon&&) = delete;
    Daemon& operator=(Daemon&&) = delete;

    // Serves until SIGTERM or SIGINT. Running VMs are left running for the next bulkheadd to
    // re-attach to: stopping the daemon never stops or orphans an app.
    Result<void> run();

    struct Impl;

private:
    explicit Daemon(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace bulkhead::manager
