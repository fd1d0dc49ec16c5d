// The one project-wide error type: a stable code for programs and a message for people.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bulkhead {

enum class ErrorCode {
    invalid_argument,   // the caller passed something malformed
    not_found,          // a file, device or entry does not exist
    permission_denied,  // the OS refused access
    io,                 // a read, write or system call failed
    parse,              // input did not match its format
    too_large,          // input exceeded a size bound
    unsupported,        // valid, but not something we handle
    timeout,            // an operation did not finish in time
    internal,           // a bug or an impossible state
    // Trust failures, named so callers and tests can tell the attacks apart.
    expired,     // signed data is past its expiry (a freeze attack, or a stale mirror)
    rollback,    // signed data is older than what is already trusted
    not_signed,  // not signed by a threshold of the keys that are trusted for it
    integrity,   // bytes do not match the length or hashes that trusted metadata lists
};

// The description of an errno value ("No such file or directory"); thread-safe.
std::string_view errno_description(int errno_value) noexcept;

// Stable, lower-case names used in --json output and logs.
std::string_view error_code_name(ErrorCode code) noexcept;

// The code with that name, if there is one.
std::optional<ErrorCode> error_code_from_name(std::string_view name) noexcept;

struct Error {
    ErrorCode code;
    std::string message;

    // Builds an error from an errno value, picking the closest code.
    static Error from_errno(int errno_value, std::string_view context);
};

}  // namespace bulkhead
