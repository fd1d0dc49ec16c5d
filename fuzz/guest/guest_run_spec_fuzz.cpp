// Fuzzes what the guest's init reads from its initramfs besides argv and env: the network
// line and the shares list. Anything may be refused, nothing may crash, and whatever is
// accepted formats back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "guest/run_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto network = bulkhead::guest::parse_guest_network(text)) {
        if (bulkhead::guest::format_guest_network(*network) != text) std::abort();
    }
    if (auto shares = bulkhead::guest::parse_guest_shares(text)) {
        if (bulkhead::guest::format_guest_shares(*shares) != text) std::abort();
    }
    (void)bulkhead::guest::split_nul_list(text, "fuzz");
    (void)bulkhead::guest::parse_restart(text);
    return 0;
}
