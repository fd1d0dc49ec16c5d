#include "archpkg/key_value.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "base/text.hpp"

namespace bulkhead::archpkg {
namespace {

bool is_key_char(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

}  // namespace

bool is_clean_text(std::string_view text) noexcept {
    for (std::size_t at = 0; at < text.size();) {
        const auto byte = static_cast<unsigned char>(text[at]);
        if (byte < 0x20 || byte == 0x7f) return false;
        const auto length = utf8_sequence_length(text, at);
        if (length == 0) return false;
        at += length;
    }
    return true;
}

Result<std::uint64_t> parse_decimal(std::string_view text, std::string_view what) {
    constexpr std::size_t kMaxDigits = 19;
    if (text.empty() || text.size() > kMaxDigits || text.find_first_not_of("0123456789") != std::string_view::npos ||
        (text.size() > 1 && text.front() == '0')) {
        return fail(ErrorCode::parse, concat({what, " is not a decimal number: '", valid_utf8(text), "'"}));
    }
    std::uint64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    if (value > static_cast<std::uint64_t>(INT64_MAX)) {
        return fail(ErrorCode::parse, concat({what, " is too large: ", text}));
    }
    return value;
}

Result<std::vector<KeyValue>> parse_key_value_lines(std::string_view text, std::string_view what,
                                                    std::size_t max_bytes) {
    if (text.size() > max_bytes) {
        return fail(ErrorCode::too_large, concat({what, " is larger than ", std::to_string(max_bytes), " bytes"}));
    }
    if (!text.empty() && text.back() != '\n') {
        return fail(ErrorCode::parse, concat({what, " does not end with a newline (truncated?)"}));
    }
    std::vector<KeyValue> entries;
    std::size_t line_number = 0;
    for (std::size_t start = 0; start < text.size();) {
        const auto end = text.find('\n', start);
        const auto line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        const auto where = [&] { return concat({what, " line ", std::to_string(line_number)}); };
        if (line.empty() || line.front() == '#') {
            if (!is_clean_text(line)) return fail(ErrorCode::parse, where() + " has control characters or bad UTF-8");
            continue;
        }
        const auto separator = line.find(" = ");
        if (separator == std::string_view::npos) {
            return fail(ErrorCode::parse, where() + " is not 'key = value'");
        }
        const auto key = line.substr(0, separator);
        const auto value = line.substr(separator + 3);
        if (key.empty() || !std::all_of(key.begin(), key.end(), is_key_char)) {
            return fail(ErrorCode::parse, concat({where(), " has a key that is not lower-case letters, digits and _: '",
                                                  valid_utf8(key), "'"}));
        }
        if (!is_clean_text(value)) {
            return fail(ErrorCode::parse, concat({where(), " (", key, ") has control characters or bad UTF-8"}));
        }
        entries.push_back(KeyValue{std::string(key), std::string(value), line_number});
    }
    return entries;
}

}  // namespace bulkhead::archpkg
