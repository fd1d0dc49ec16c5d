#include "tuf_repo/names.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

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

// Length of the UTF-8 sequence starting at text[i], or 0 when it is not a valid one
// (overlong forms, surrogates and values above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept {
    const auto byte = [&text](std::size_t at) { return static_cast<std::uint8_t>(text[at]); };
    const std::uint8_t lead = byte(i);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    std::uint32_t code = 0;
    std::uint32_t minimum = 0;
    if ((lead & 0xE0U) == 0xC0U) {
        length = 2, code = lead & 0x1FU, minimum = 0x80;
    } else if ((lead & 0xF0U) == 0xE0U) {
        length = 3, code = lead & 0x0FU, minimum = 0x800;
    } else if ((lead & 0xF8U) == 0xF0U) {
        length = 4, code = lead & 0x07U, minimum = 0x10000;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0U) != 0x80U) return 0;
        code = (code << 6U) | (byte(i + k) & 0x3FU);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return length;
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
