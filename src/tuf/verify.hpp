// Threshold signature checking: the one function every trust decision about signatures uses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "tuf/metadata.hpp"

namespace bulkhead::tuf {

// Succeeds when at least `role.threshold` distinct keys of the role made a valid signature over
// `canonical_signed`. Keys are looked up in `keys` by the role's keyids; a keyid missing from
// `keys`, a signature by a key outside the role, an unusable key or an invalid signature simply
// does not count. One key counts once, even if it appears under two keyids or signs twice.
Result<void> verify_threshold(std::string_view role_name, const std::string& canonical_signed,
                              const std::vector<Signature>& signatures, const KeyMap& keys, const RoleKeys& role);

}  // namespace bulkhead::tuf
