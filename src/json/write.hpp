// Plain RFC 8259 JSON output (compact, keys sorted): unlike the canonical form, every string is
// escaped as JSON requires, so the output always parses back to the same value.
#pragma once

#include <string>

#include "json/value.hpp"

namespace bulkhead::json {

std::string to_json(const Value& value);

}  // namespace bulkhead::json
