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

// Keyids and threshold of a key set; refuses duplicates and thresholds outside 1..keys.
Result<tuf::RoleKeys> role_keys(const RoleKeySet& set, std::string_view role);

// "3 d 4 h", for messages about expiry.
std::string days_text(std::int64_t seconds);

}  // namespace bulkhead::tuf_repo::detail
