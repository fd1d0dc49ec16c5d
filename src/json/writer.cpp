#include "json/writer.hpp"

#include <array>
#include <charconv>

namespace bulkhead::json::detail {

namespace {

void append_string(const std::string& text, std::string& out, Style style) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
            continue;
        }
        const auto byte = static_cast<unsigned char>(c);
        if (style == Style::canonical || byte >= 0x20) {
            out += c;
            continue;
        }
        switch (c) {
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out += kHex[byte >> 4U];
                out += kHex[byte & 0x0fU];
        }
    }
    out += '"';
}

bool is_integer_literal(const std::string& literal) {
    std::size_t i = literal.starts_with('-') ? 1 : 0;
    if (i == literal.size()) return false;
    for (; i < literal.size(); ++i) {
        if (literal[i] < '0' || literal[i] > '9') return false;
    }
    return true;
}

}  // namespace

Result<void> append(const Value& value, std::string& out, Style style) {
    switch (value.kind()) {
        case Kind::null: out += "null"; return {};
        case Kind::boolean: out += value.as_bool() ? "true" : "false"; return {};
        case Kind::integer: {
            std::array<char, 24> digits{};
            auto* const end = std::to_chars(digits.data(), digits.data() + digits.size(), value.as_integer()).ptr;
            out.append(digits.data(), end);
            return {};
        }
        case Kind::number_text: {
            const std::string& literal = value.as_number_text().literal;
            if (style == Style::canonical && !is_integer_literal(literal)) {
                return fail(ErrorCode::unsupported,
                            "canonical JSON cannot represent the non-integer number " + literal);
            }
            out += literal;
            return {};
        }
        case Kind::string: append_string(value.as_string(), out, style); return {};
        case Kind::array: {
            out += '[';
            bool first = true;
            for (const Value& item : value.as_array()) {
                if (!first) out += ',';
                first = false;
                if (auto appended = append(item, out, style); !appended) return appended;
            }
            out += ']';
            return {};
        }
        case Kind::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, member] : value.as_object()) {
                if (!first) out += ',';
                first = false;
                append_string(key, out, style);
                out += ':';
                if (auto appended = append(member, out, style); !appended) return appended;
            }
            out += '}';
            return {};
        }
    }
    return fail(ErrorCode::internal, "unknown JSON kind");
}

}  // namespace bulkhead::json::detail
