// Fuzzes what `bulkhead repo` reads from outside: signed envelopes carried from other machines
// (merge-signatures), the repository settings, public keys, target paths and role names.
// Hostile input may be refused, never crash or hang; what is accepted must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "tuf_repo/config.hpp"
#include "tuf_repo/envelope.hpp"
#include "tuf_repo/key_file.hpp"
#include "tuf_repo/names.hpp"

using namespace bulkhead::tuf_repo;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (auto envelope = read_envelope(bytes)) {
        auto again = read_envelope(write_envelope(*envelope));
        if (!again || again->signed_part != envelope->signed_part ||
            again->signatures.size() != envelope->signatures.size()) {
            std::abort();
        }
    }
    if (auto config = parse_config(bytes)) {
        auto again = parse_config(write_config(*config));
        if (!again || again->expiry.root != config->expiry.root ||
            again->expiry.timestamp != config->expiry.timestamp) {
            std::abort();
        }
    }
    if (auto identity = read_public_key(bytes)) {
        if (identity->keyid.size() != 64) std::abort();
    }
    (void)key_file_is_encrypted(bytes);
    if (auto encrypted = key_file_is_encrypted(bytes); encrypted && !*encrypted)
        (void)read_key_file(bytes, std::nullopt);
    if (check_target_path(bytes)) {
        if (bytes.empty() || bytes.front() == '/' || bytes.back() == '/') std::abort();
    }
    if (check_role_name(bytes) && is_top_level_role(bytes)) std::abort();
    return 0;
}
