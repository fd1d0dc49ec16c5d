#include "base/text.hpp"

#include <array>
#include <charconv>

namespace bulkhead {

std::string hex(std::uint64_t value, int min_digits) {
    std::array<char, 16> digits{};
    auto* const end = std::to_chars(digits.data(), digits.data() + digits.size(), value, 16).ptr;
    const auto count = static_cast<int>(end - digits.data());
    std::string out = "0x";
    if (count < min_digits) out.append(static_cast<std::size_t>(min_digits - count), '0');
    out.append(digits.data(), end);
    return out;
}

std::string hex_encode(std::string_view bytes) {
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out += kDigits[byte >> 4U];
        out += kDigits[byte & 0x0fU];
    }
    return out;
}

int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

Result<std::string> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0) return fail(ErrorCode::parse, "hex string has an odd number of digits");
    std::string out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int high = hex_digit_value(text[i]);
        const int low = hex_digit_value(text[i + 1]);
        if (high < 0 || low < 0) {
            return fail(ErrorCode::parse, "invalid hex digit at position " + std::to_string(high < 0 ? i : i + 1));
        }
        out += static_cast<char>((high << 4) | low);
    }
    return out;
}

std::string concat(std::initializer_list<std::string_view> pieces) {
    std::size_t size = 0;
    for (const std::string_view piece : pieces) size += piece.size();
    std::string joined;
    joined.reserve(size);
    for (const std::string_view piece : pieces) joined.append(piece);
    return joined;
}

std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept {
    const auto byte = [&text](std::size_t index) { return static_cast<std::uint8_t>(text[index]); };
    const std::uint8_t lead = byte(at);
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
    if (at + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(at + k) & 0xC0U) != 0x80U) return 0;
        code = (code << 6U) | (byte(at + k) & 0x3FU);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return length;
}

std::string valid_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t i = 0; i < bytes.size();) {
        const std::size_t length = utf8_sequence_length(bytes, i);
        if (length == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        out.append(bytes.substr(i, length));
        i += length;
    }
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (text.size() % 4 != 0) return fail(ErrorCode::parse, "base64 text is not a multiple of 4 characters");
    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
    const std::string_view digits = text.substr(0, text.size() - padding);
    std::string out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t bits = 0;
    int pending = 0;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        const std::size_t value = kAlphabet.find(digits[i]);
        if (value == std::string_view::npos) {
            return fail(ErrorCode::parse, "invalid base64 character at position " + std::to_string(i));
        }
        bits = (bits << 6U) | static_cast<std::uint32_t>(value);
        pending += 6;
        if (pending >= 8) {
            pending -= 8;
            out += static_cast<char>((bits >> static_cast<unsigned>(pending)) & 0xffU);
        }
    }
    if ((bits & ((1U << static_cast<unsigned>(pending)) - 1U)) != 0) {
        return fail(ErrorCode::parse, "base64 text has non-zero padding bits");
    }
    return out;
}

}  // namespace bulkhead
