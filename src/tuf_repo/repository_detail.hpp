// Helpers shared by the repository's source files; not part of the public interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "tuf/metadata.hpp"
#include "tuf_repo/builders.hpp"
#include "tuf_repo/key_file.hpp"

namespace bulkhead::tuf_repo::detail {

inline constexpr std::size_t kMaxMetadataBytes = std::size_t{64} << 20;

// The client's key model for a key of ours, with its verifier.
tuf::Key tuf_key(const KeyIdentity& identity);

// What identifies a key whatever its keyid: the fingerprint of its public key material. One key
// can be written with several keyids (an ECDSA keytype spelt two ways, PEM line breaks, hex in
// either case), so comparisons between roles use this, never the keyid.
std::string key_material(const KeyIdentity& identity);
std::string key_material(const tuf::Key& key);

// Keyids and threshold of a key set; refuses duplicates (by key material) and thresholds
// outside 1..keys.
Result<tuf::RoleKeys> role_keys(const RoleKeySet& set, std::string_view role);

// "3 d 4 h", for messages about expiry.
std::string days_text(std::int64_t seconds);

}  // namespace bulkhead::tuf_repo::detail
