// The `key = value` line format of .PKGINFO and .BUILDINFO, read strictly: every line ends in
// a newline, `#` starts a comment line, keys are lower-case identifiers, values are UTF-8 text
// without control characters. The files that use it decide which keys exist and how often.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::archpkg {

struct KeyValue {
    std::string key;
    std::string value;
    std::size_t line = 0;
};

// `what` names the file in errors (".PKGINFO"); files over max_bytes are refused whole.
Result<std::vector<KeyValue>> parse_key_value_lines(std::string_view text, std::string_view what,
                                                    std::size_t max_bytes);

// Checks a value that must be a decimal number without sign or leading zeros (0 itself is
// allowed), at most 2^63 - 1.
Result<std::uint64_t> parse_decimal(std::string_view text, std::string_view what);

// Text with no control characters (tab included) that is valid UTF-8.
bool is_clean_text(std::string_view text) noexcept;

}  // namespace bulkhead::archpkg
