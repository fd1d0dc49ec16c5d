// Fuzzes the /proc/cpuinfo parser: it must never crash, hang or read out of bounds, and what
// it accepts must be internally consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hcl/cpuinfo.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto info = bulkhead::hcl::parse_cpuinfo(text);
    if (info) {
        if (info->processor_count == 0 || info->processor_count > bulkhead::hcl::kMaxProcessors) std::abort();
        if (!info->has_flags_line && !info->flags.empty()) std::abort();
        for (const auto& flag : info->flags) {
            if (flag.empty() || text.find(flag) == std::string_view::npos) std::abort();
        }
    } else if (info.error().message.empty()) {
        std::abort();
    }
    return 0;
}
