// Fuzzes the rebuilder link and key parsers (attestations arrive as TUF targets from the
// curator, but their contents were written by rebuilders): never crash; an accepted link has
// signatures and canonical bytes, and produces only 32-byte sha256 and 64-byte sha512 digests.
// The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "attest/link.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
        auto link = bulkhead::attest::parse_link(text);
        if (!link) return 0;
        if (link->signatures.empty() || link->signed_bytes.empty()) std::abort();
        for (const auto* artifacts : {&link->materials, &link->products}) {
            for (const auto& [path, hashes] : *artifacts) {
                if (path.empty() || hashes.sha256.size() != 32 ||
                    (!hashes.sha512.empty() && hashes.sha512.size() != 64)) {
                    std::abort();
                }
            }
        }
        return 0;
    }
    auto key = bulkhead::attest::parse_rebuilder_key(text);
    if (key && (key->keyid != bulkhead::attest::keyid_of(key->public_hex) || key->keyid.size() != 64)) std::abort();
    return 0;
}
