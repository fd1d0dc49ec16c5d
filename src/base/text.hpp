// Small formatting helpers shared by messages across components.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead {

// "0x" followed by lower-case hex digits, at least min_digits of them.
std::string hex(std::uint64_t value, int min_digits = 1);

// The value of one hex digit (either case), or -1 if c is not one.
int hex_digit_value(char c) noexcept;

// Lower-case hex of each byte, no prefix.
std::string hex_encode(std::string_view bytes);

// Length of the UTF-8 sequence starting at text[at], or 0 when it is not a valid one
// (overlong forms, surrogates and values above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept;

// `bytes` with every byte that is not part of valid UTF-8 (overlong forms and surrogates
// included) replaced by U+FFFD, so text from an untrusted source can go into JSON.
std::string valid_utf8(std::string_view bytes);

// The pieces joined into one string, allocated once (for messages built inside loops).
std::string concat(std::initializer_list<std::string_view> pieces);

// Decodes hex (either case, even length, nothing else); fails with a parse error otherwise.
Result<std::string> hex_decode(std::string_view text);

// Decodes standard base64 (RFC 4648 section 4) strictly: padded to a multiple of 4, no
// whitespace, and unused bits of the last character zero, so each byte string has one encoding.
Result<std::string> base64_decode(std::string_view text);

}  // namespace bulkhead
