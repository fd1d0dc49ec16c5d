// Fuzzes permission text (what a user types to `bulkhead app grant`): any text may be refused,
// never crash; an accepted permission formats to a text that parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "permissions/permission.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto permission = bulkhead::permissions::parse_permission(text);
    if (!permission) return 0;
    auto again = bulkhead::permissions::parse_permission(bulkhead::permissions::format_permission(*permission));
    if (!again || !(*again == *permission)) std::abort();
    return 0;
}
