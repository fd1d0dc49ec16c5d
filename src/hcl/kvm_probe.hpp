// Proves that /dev/kvm can run an ordinary guest, instead of trusting that it exists.
//
// A child process creates a VM with one vCPU in real mode, runs a few instructions that write
// two computed values to an I/O port and halt, and checks each exit. Running it in a child
// with a deadline means a KVM that hangs, faults or crashes can only fail the check.
#pragma once

#include <chrono>
#include <string>

#include "hcl/check.hpp"

namespace bulkhead::hcl {

struct KvmProbeOutcome {
    Status status = Status::unknown;
    std::string summary;
    std::vector<std::string> evidence;
    std::string remedy;
};

inline constexpr std::chrono::milliseconds kDefaultKvmProbeTimeout{5000};

KvmProbeOutcome probe_kvm(const std::string& device_path, std::chrono::milliseconds timeout = kDefaultKvmProbeTimeout);

// What the report says when no live probe is possible (e.g. `--root` names another tree).
KvmProbeOutcome kvm_not_probed(const std::string& reason);

}  // namespace bulkhead::hcl
