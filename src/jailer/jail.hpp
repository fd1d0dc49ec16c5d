// Starting a VMM jailed, in the order Firecracker's jailer uses: the child waits until the
// parent has put it into its cgroup, then keeps only the file descriptors it is given, enters
// new mount, PID, network, IPC and UTS namespaces (it is PID 1 of its own PID namespace, with
// only a loopback device, unless it is given a network namespace to join), sees only its jail directory (pivot_root)
// with the host paths bound into it, takes its resource limits, drops every capability from the bounding set, switches
// to the app's uid and gid with no supplementary groups, sets no_new_privs, clears its
// environment and execs the VMM. Anything privileged it needs (a tap device, /dev/kvm) is
// opened by the caller and handed over as a file descriptor or a bound device node.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "jailer/cgroup.hpp"

namespace bulkhead::jailer {

struct BindMount {
    std::string source;  // host path (file or directory)
    std::string target;  // absolute path inside the jail
    bool writable = false;
};

struct JailSpec {
    uid_t uid = 0;     // must not be 0
    gid_t gid = 0;     // must not be 0
    std::string root;  // an existing directory owned by root; becomes "/"
    std::vector<BindMount> binds;
    std::vector<std::string> devices;           // host device nodes bound at the same path (/dev/null, ...)
    std::vector<std::pair<int, int>> pass_fds;  // (fd in the caller, fd number in the VMM), targets >= 3
    std::vector<std::string> argv;              // argv[0]: absolute path inside the jail
    std::vector<std::string> env;               // the VMM's whole environment
    std::uint64_t max_open_files = 4096;
    // A network namespace (an open descriptor) to join instead of a new, empty one: the app's,
    // for the expose-port forwarder. -1: a new one.
    int network_namespace = -1;
};

struct Jailed {
    pid_t pid = -1;  // in the caller's PID namespace
};

// Starts the jailed process and returns once it has exec'd (or fails with the reason the jail
// could not be set up, as reported by the child). `cgroup` is joined before anything else.
Result<Jailed> spawn_jailed(const JailSpec& spec, const Cgroup& cgroup);

}  // namespace bulkhead::jailer
