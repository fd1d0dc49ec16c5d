// Parser for /proc/cpuinfo (x86 layout): processor blocks of "key : value" lines.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::hcl {

// Large enough for thousands of logical CPUs; /proc/cpuinfo is about 1.5 KiB per CPU.
inline constexpr std::size_t kMaxCpuinfoBytes = std::size_t{16} << 20;
inline constexpr std::size_t kMaxCpuinfoLineBytes = 16384;
inline constexpr std::size_t kMaxProcessors = 16384;

struct CpuInfo {
    std::size_t processor_count = 0;
    std::string vendor_id;   // of the first processor; empty when the line is absent
    std::string model_name;  // of the first processor
    bool has_flags_line = false;
    // Only flags that every processor reports, so one odd core cannot make a machine pass.
    std::set<std::string, std::less<>> flags;
    // The "vmx flags" line of newer kernels (ept, unrestricted_guest, ...), also intersected.
    std::set<std::string, std::less<>> vmx_flags;

    [[nodiscard]] bool has_flag(std::string_view flag) const { return flags.contains(flag); }
    [[nodiscard]] bool has_vmx_flag(std::string_view flag) const { return vmx_flags.contains(flag); }
};

Result<CpuInfo> parse_cpuinfo(std::string_view text);

}  // namespace bulkhead::hcl
