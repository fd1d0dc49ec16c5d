// Sends one command to a TPM and reads its whole response, over whatever carries raw TPM
// commands: the kernel's /dev/tpmrm0 (one write, one read) or swtpm's data socket in tests
// (a stream, so the response may arrive in pieces).
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::tpm {

// Waits at most `timeout_ms` for each piece of the response.
Result<std::string> transact(int fd, std::string_view command, int timeout_ms = 30000);

}  // namespace bulkhead::tpm
