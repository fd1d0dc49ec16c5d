// Canonical JSON as TUF signs it (the OLPC form, as securesystemslib produces it): no
// whitespace, object keys sorted by code point, strings escaping only '"' and '\', integers
// only. The bytes a signature covers are exactly canonical(signed).
#pragma once

#include <string>

#include "base/result.hpp"
#include "json/value.hpp"

namespace bulkhead::json {

// Fails with unsupported for numbers that are not integers, which canonical JSON cannot express.
Result<std::string> canonical(const Value& value);
Result<void> append_canonical(const Value& value, std::string& out);

}  // namespace bulkhead::json
