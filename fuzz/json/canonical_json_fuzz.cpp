// Fuzzes the strict JSON parser and the canonical encoder: canonical output must parse back to
// an equal value and encode to the same bytes (a fixed point), and nothing may crash.
// Canonical JSON writes control characters in strings raw, which is not valid JSON, so the
// round trip is only checked for values without them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "json/canonical.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto value = bulkhead::json::parse(text);
    if (!value) return 0;
    // Plain JSON output always parses back to the same value.
    auto written = bulkhead::json::parse(bulkhead::json::to_json(*value));
    if (!written || !(*written == *value)) std::abort();
    auto encoded = bulkhead::json::canonical(*value);
    if (!encoded) return 0;  // non-integer numbers
    for (const char c : *encoded) {
        if (static_cast<unsigned char>(c) < 0x20) return 0;
    }
    auto reparsed = bulkhead::json::parse(*encoded);
    if (!reparsed || !(*reparsed == *value)) std::abort();
    auto again = bulkhead::json::canonical(*reparsed);
    if (!again || *again != *encoded) std::abort();
    return 0;
}
