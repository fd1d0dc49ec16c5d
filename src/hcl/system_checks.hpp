// Reads a system tree (/proc, /sys) and decides each hardware requirement from what it finds.
#pragma once

#include <vector>

#include "base/rooted_dir.hpp"
#include "hcl/check.hpp"
#include "hcl/kvm_probe.hpp"

namespace bulkhead::hcl {

// The checks in report order. The KVM result comes from a live probe (or kvm_not_probed) so
// that the decision logic can be tested against fixture trees.
std::vector<Check> run_checks(const RootedDir& root, const KvmProbeOutcome& kvm);

// EFI variable payload as read from efivarfs: 4 attribute bytes, then a one-byte boolean.
Result<bool> parse_efi_boolean_variable(std::string_view bytes);

}  // namespace bulkhead::hcl
