#include "base/error.hpp"

#include <cerrno>
#include <cstring>  // strerrordesc_np (GNU)

namespace bulkhead {

std::string_view error_code_name(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::permission_denied: return "permission_denied";
        case ErrorCode::io: return "io";
        case ErrorCode::parse: return "parse";
        case ErrorCode::too_large: return "too_large";
        case ErrorCode::unsupported: return "unsupported";
        case ErrorCode::timeout: return "timeout";
        case ErrorCode::internal: return "internal";
        case ErrorCode::expired: return "expired";
        case ErrorCode::rollback: return "rollback";
        case ErrorCode::not_signed: return "not_signed";
        case ErrorCode::integrity: return "integrity";
    }
    return "internal";
}

std::string_view errno_description(int errno_value) noexcept {
    // strerrordesc_np (glibc) returns a static string and, unlike strerror, is thread-safe.
    const char* description = ::strerrordesc_np(errno_value);
    return description != nullptr ? description : "unknown error";
}

Error Error::from_errno(int errno_value, std::string_view context) {
    ErrorCode code = ErrorCode::io;
    switch (errno_value) {
        case ENOENT:
        case ENOTDIR: code = ErrorCode::not_found; break;
        case EACCES:
        case EPERM: code = ErrorCode::permission_denied; break;
        case EFBIG: code = ErrorCode::too_large; break;
        case ETIMEDOUT: code = ErrorCode::timeout; break;
        default: break;
    }
    std::string message(context);
    message += ": ";
    message += errno_description(errno_value);
    return Error{code, std::move(message)};
}

std::optional<ErrorCode> error_code_from_name(std::string_view name) noexcept {
    for (int code = 0; code <= static_cast<int>(ErrorCode::integrity); ++code) {
        if (error_code_name(static_cast<ErrorCode>(code)) == name) return static_cast<ErrorCode>(code);
    }
    return std::nullopt;
}

}  // namespace bulkhead
