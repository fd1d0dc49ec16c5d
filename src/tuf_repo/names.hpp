// What the repository accepts as delegated role names and target paths. Both become file names
// in the published tree, so they are checked before anything is written: a name can never
// climb out of its directory, collide with a top-level role, or exceed NAME_MAX.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::tuf_repo {

inline constexpr std::size_t kMaxRoleNameBytes = 64;
inline constexpr std::size_t kMaxTargetPathBytes = 1024;
// A published target is "<sha256 hex>.<basename>": 64 + 1 + 120 stays well under NAME_MAX (255).
inline constexpr std::size_t kMaxTargetBasenameBytes = 120;

bool is_top_level_role(std::string_view name) noexcept;

// [A-Za-z0-9][A-Za-z0-9._-]*, at most kMaxRoleNameBytes, not a top-level role name. Such names
// need no percent-encoding, so the published file is exactly what every client asks for.
Result<void> check_role_name(std::string_view name);

// The name prefix of hash bins: the same characters, short enough for "-" and the hex index.
Result<void> check_bin_prefix(std::string_view prefix);

// Relative, "/"-separated, valid UTF-8 without control characters or the characters URLs and
// web servers treat specially ('?', '#', '%', '\\'); no empty, "." or ".." segment; bounded
// lengths.
Result<void> check_target_path(std::string_view path);

// Where a consistent-snapshot client fetches a target: "dir/HASH.name" for "dir/name".
std::string hash_prefixed_path(std::string_view path, std::string_view hash_hex);

}  // namespace bulkhead::tuf_repo
