// Talking to bulkheadd: one request (a JSON object) over its unix socket, one response line.
#pragma once

#include <string>

#include "base/result.hpp"
#include "json/value.hpp"

namespace bulkhead::cmd {

// The response when it says "ok": true; bulkheadd's refusal (its message) otherwise.
Result<json::Value> call_bulkheadd(const std::string& socket_path, const json::Value& request);

}  // namespace bulkhead::cmd
