#include "tuf_repo/names.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "base/text.hpp"

namespace bulkhead::tuf_repo {

namespace {

bool is_name_character(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

bool is_alnum(char c) noexcept { return is_name_character(c) && c != '.' && c != '_' && c != '-'; }

Result<void> check_name_characters(std::string_view name, std::string_view what, std::size_t max_bytes) {
    if (name.empty()) return fail(ErrorCode::invalid_argument, std::string(what) + " is empty");
    if (name.size() > max_bytes) {
        return fail(ErrorCode::invalid_argument, std::string(what) + " '" + std::string(name) + "' is longer than " +
                                                     std::to_string(max_bytes) + " bytes");
    }
    if (!is_alnum(name.front())) {
        return fail(ErrorCode::invalid_argument,
                    std::string(what) + " '" + std::string(name) + "' must start with a letter or digit");
    }
    for (const char c : name) {
        if (!is_name_character(c)) {
            return fail(ErrorCode::invalid_argument, std::string(what) + " '" + std::string(name) +
                                                         "' may only use letters, digits, '.', '_' and '-'");
        }
    }
    return {};
}

}  // namespace

bool is_top_level_role(std::string_view name) noexcept {
    static constexpr std::array<std::string_view, 4> kTopLevel = {"root", "targets", "snapshot", "timestamp"};
    return std::any_of(kTopLevel.begin(), kTopLevel.end(), [name](std::string_view top) { return top == name; });
}

Result<void> check_role_name(std::string_view name) {
    if (auto checked = check_name_characters(name, "role name", kMaxRoleNameBytes); !checked) return checked;
    if (is_top_level_role(name)) {
        return fail(ErrorCode::invalid_argument,
                    "'" + std::string(name) + "' is a top-level role, not a delegated one");
    }
    return {};
}

Result<void> check_bin_prefix(std::string_view prefix) {
    return check_name_characters(prefix, "bin name prefix", kMaxRoleNameBytes - 9);
}

Result<void> check_target_path(std::string_view path) {
    const std::string quoted = "target path '" + std::string(path) + "'";
    if (path.empty()) return fail(ErrorCode::invalid_argument, "the target path is empty");
    if (path.size() > kMaxTargetPathBytes) {
        return fail(ErrorCode::invalid_argument,
                    "a target path is longer than " + std::to_string(kMaxTargetPathBytes) + " bytes");
    }
    for (std::size_t i = 0; i < path.size();) {
        const std::size_t length = utf8_sequence_length(path, i);
        if (length == 0) return fail(ErrorCode::invalid_argument, "the target path is not valid UTF-8");
        const auto c = static_cast<std::uint8_t>(path[i]);
        if (c < 0x20 || c == 0x7F) {
            return fail(ErrorCode::invalid_argument, "the target path contains a control character");
        }
        if (c == '?' || c == '#' || c == '%' || c == '\\') {
            return fail(ErrorCode::invalid_argument,
                        quoted + " contains '?', '#', '%' or '\\', which URLs and web servers treat specially");
        }
        i += length;
    }
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = path.find('/', start);
        const std::string_view segment =
            path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (segment.empty()) {
            return fail(ErrorCode::invalid_argument,
                        quoted + " has an empty segment (leading, trailing or double '/')");
        }
        if (segment == "." || segment == "..") {
            return fail(ErrorCode::invalid_argument, quoted + " has a '.' or '..' segment");
        }
        if (slash == std::string_view::npos) {
            if (segment.size() > kMaxTargetBasenameBytes) {
                return fail(ErrorCode::invalid_argument, quoted + ": the file name is longer than " +
                                                             std::to_string(kMaxTargetBasenameBytes) + " bytes");
            }
            break;
        }
        if (segment.size() > 255) return fail(ErrorCode::invalid_argument, quoted + " has a segment over 255 bytes");
        start = slash + 1;
    }
    return {};
}

std::string hash_prefixed_path(std::string_view path, std::string_view hash_hex) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return std::string(hash_hex) + "." + std::string(path);
    return std::string(path.substr(0, slash + 1)) + std::string(hash_hex) + "." + std::string(path.substr(slash + 1));
}

}  // namespace bulkhead::tuf_repo
