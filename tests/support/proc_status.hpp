// Reading fields of /proc/PID/status ("Uid", "CapEff", "Seccomp", ...) in tests that check a
// process's credentials.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/file_io.hpp"

namespace bulkhead::testing {

// The value of `name` in the text of a /proc/PID/status file, or "" when it is not there.
inline std::string status_value(const std::string& status, const std::string& name) {
    const std::size_t at = status.find("\n" + name + ":");
    if (at == std::string::npos) return {};
    const std::size_t start = status.find_first_not_of(" \t", at + name.size() + 2);
    return status.substr(start, status.find('\n', start) - start);
}

// The value of `name` in /proc/PID/status now, or "" when the process or field is gone.
inline std::string status_field(pid_t pid, const std::string& name) {
    auto status = read_file_bounded("/proc/" + std::to_string(pid) + "/status", 65536);
    return status ? status_value("\n" + *status, name) : std::string();
}

}  // namespace bulkhead::testing
