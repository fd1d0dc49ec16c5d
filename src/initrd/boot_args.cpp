#include "initrd/boot_args.hpp"

#include "base/text.hpp"

namespace bulkhead::initrd {

namespace {

constexpr std::size_t kMaxCommandLine = 4096;
constexpr std::size_t kMaxVersion = 64;

bool version_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

}  // namespace

Result<BootArgs> parse_boot_args(std::string_view command_line) {
    if (command_line.size() > kMaxCommandLine) return fail(ErrorCode::too_large, "the kernel command line is too long");
    BootArgs args;
    bool have_hash = false;
    bool have_version = false;
    bool have_security = false;
    std::size_t at = 0;
    while (at < command_line.size()) {
        const std::size_t end = std::min(command_line.find_first_of(" \t\n", at), command_line.size());
        const std::string_view word = command_line.substr(at, end - at);
        at = end + 1;
        if (word.starts_with("bulkhead.verity=")) {
            if (have_hash) return fail(ErrorCode::parse, "bulkhead.verity= is given twice");
            const std::string_view hex = word.substr(16);
            if (hex.size() != 64 && hex.size() != 128) {
                return fail(ErrorCode::parse, "bulkhead.verity= must be 64 or 128 hex digits");
            }
            auto raw = hex_decode(hex);
            if (!raw) return fail(ErrorCode::parse, "bulkhead.verity= must be hex digits");
            args.root_hash = std::move(*raw);
            have_hash = true;
        } else if (word.starts_with("bulkhead.version=")) {
            if (have_version) return fail(ErrorCode::parse, "bulkhead.version= is given twice");
            const std::string_view version = word.substr(17);
            if (version.empty() || version.size() > kMaxVersion) {
                return fail(ErrorCode::parse, "bulkhead.version= must be 1 to 64 characters");
            }
            for (const char c : version) {
                if (!version_character(c))
                    return fail(ErrorCode::parse, "bulkhead.version= holds a character outside [A-Za-z0-9._-]");
            }
            args.version = std::string(version);
            have_version = true;
        } else if (word.starts_with("bulkhead.security=")) {
            if (have_security) return fail(ErrorCode::parse, "bulkhead.security= is given twice");
            const std::string_view digits = word.substr(18);
            if (digits.empty() || digits.size() > 5 || (digits.size() > 1 && digits[0] == '0')) {
                return fail(ErrorCode::parse, "bulkhead.security= must be a number from 0 to 65535");
            }
            std::uint32_t value = 0;
            for (const char c : digits) {
                if (c < '0' || c > '9') return fail(ErrorCode::parse, "bulkhead.security= must be decimal digits");
                value = value * 10 + static_cast<std::uint32_t>(c - '0');
            }
            if (value > 65535) return fail(ErrorCode::parse, "bulkhead.security= must be a number from 0 to 65535");
            args.security_version = value;
            have_security = true;
        } else if (word.starts_with("bulkhead.")) {
            return fail(ErrorCode::parse, concat({"unknown boot argument '", valid_utf8(word.substr(0, 64)), "'"}));
        }
    }
    if (!have_hash) return fail(ErrorCode::not_found, "the kernel command line has no bulkhead.verity=");
    if (!have_version) return fail(ErrorCode::not_found, "the kernel command line has no bulkhead.version=");
    if (!have_security) return fail(ErrorCode::not_found, "the kernel command line has no bulkhead.security=");
    return args;
}

}  // namespace bulkhead::initrd
