// A strict RFC 8259 JSON parser for untrusted input.
//
// Stricter than most parsers on purpose, because two parsers that disagree about one document
// are an attack surface: duplicate object keys, invalid UTF-8, lone surrogates, control
// characters in strings, a byte-order mark and trailing data are all rejected.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/result.hpp"
#include "json/value.hpp"

namespace bulkhead::json {

struct ParseLimits {
    std::size_t max_depth = 128;  // nested arrays and objects
    std::size_t max_bytes = std::size_t{64} << 20;
};

// Errors carry the byte offset of the problem.
Result<Value> parse(std::string_view text, const ParseLimits& limits = {});

}  // namespace bulkhead::json
