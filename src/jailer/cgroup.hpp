// Resource limits per VM with cgroups: a leaf per app with memory, pids and cpu limits. Uses
// the unified (v2) hierarchy when it has those controllers, and the v1 controllers of a hybrid
// set-up otherwise (as on the project's build machines), with the same meaning.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::jailer {

struct Limits {
    std::uint64_t memory_bytes = 0;   // the whole VMM: guest RAM plus its own overhead
    std::uint32_t pids = 64;          // tasks (threads count) in the cgroup
    std::uint32_t cpu_percent = 100;  // of one CPU; 200 is two
};

class Cgroup {
public:
    // Creates (or reuses) the leaf "bulkhead/<name>" below `mount_root` (normally
    // /sys/fs/cgroup) and writes the limits.
    static Result<Cgroup> create(const std::string& mount_root, const std::string& name, const Limits& limits);

    // Moves a process into the leaf (every controller's, under v1).
    Result<void> add(pid_t pid) const;
    // Removes the leaf directories; they must be empty of processes.
    Result<void> remove() const;
    // Whether any process is in the leaf (under v1: in any of its controllers' leaves).
    [[nodiscard]] Result<bool> has_processes() const;

    [[nodiscard]] bool unified() const noexcept { return unified_; }
    // The leaf directories: one under v2, one per controller under v1.
    [[nodiscard]] const std::vector<std::string>& directories() const noexcept { return directories_; }

private:
    Cgroup(bool unified, std::vector<std::string> directories)
        : unified_(unified), directories_(std::move(directories)) {}
    bool unified_;
    std::vector<std::string> directories_;
};

}  // namespace bulkhead::jailer
