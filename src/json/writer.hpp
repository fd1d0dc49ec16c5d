// The one JSON writer behind canonical() and to_json(): they differ only in how strings are
// escaped and in whether non-integer numbers are allowed. Internal to the json component.
#pragma once

#include <string>

#include "base/result.hpp"
#include "json/value.hpp"

namespace bulkhead::json::detail {

enum class Style {
    canonical,  // OLPC: escape only '"' and '\', integers only
    plain,      // RFC 8259: escape what JSON requires, any number
};

Result<void> append(const Value& value, std::string& out, Style style);

}  // namespace bulkhead::json::detail
