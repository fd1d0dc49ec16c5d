// Getting a passphrase from a person or a file, never from the command line (where every user
// of the machine can read it in /proc).
#pragma once

#include <optional>
#include <string>

#include "base/result.hpp"

namespace bulkhead::cli {

// From `file` when given (its first line), otherwise from the terminal without echo; when
// `confirm` is set the terminal asks twice and the answers must match. Fails when there is
// neither a file nor a terminal.
Result<std::string> read_passphrase(const std::optional<std::string>& file, const std::string& prompt, bool confirm);

}  // namespace bulkhead::cli
