// Which delegations a target path falls under: shell-style path patterns, hash prefixes and
// TAP 15 succinct hash bins.
#pragma once

#include <string>
#include <string_view>

#include "tuf/metadata.hpp"

namespace bulkhead::tuf {

// True when `path` matches `pattern` segment by segment: both are split on "/", must have the
// same number of segments, and each segment matches shell-style ("*" any run of characters,
// "?" one character, "[seq]" and "[!seq]" classes). So "*" never crosses a "/".
bool path_matches_pattern(std::string_view path, std::string_view pattern);

// Lower-case hex SHA-256 of the path's UTF-8 bytes, as path_hash_prefixes and bins use it.
std::string target_path_hash(std::string_view path);

bool role_covers_path(const DelegatedRole& role, std::string_view path, const std::string& path_hash);

// TAP 15: the one bin a path belongs to, e.g. "bin-fc" for bit_length 8.
std::string succinct_bin_for(const SuccinctRoles& succinct, const std::string& path_hash);
std::string succinct_bin_name(const SuccinctRoles& succinct, std::uint32_t index);

}  // namespace bulkhead::tuf
