// Running the network tools (ip, nft) the one way this component does: in a given network
// namespace, with their input as a memory file named on the command line, an argv and no shell.
#pragma once

#include <string>

#include "base/result.hpp"

namespace bulkhead::network {

inline constexpr int kToolTimeoutSeconds = 30;

// Runs `program flag /proc/self/fd/N` in `network_namespace`, where N holds `script`; `extra_fd`
// (if >= 0) is inherited too (for an "netns /proc/self/fd/M" inside the script). A failure names
// `what` and the tool's own message.
Result<void> run_tool_script(const char* program, const char* flag, const std::string& script, int network_namespace,
                             int extra_fd, const std::string& what);

}  // namespace bulkhead::network
