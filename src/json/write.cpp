#include "json/write.hpp"

#include <array>
#include <charconv>

namespace bulkhead::json {

namespace {

void append_escaped(const std::string& text, std::string& out) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    out += '"';
    for (const char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += "\\u00";
                    out += kHex[static_cast<unsigned char>(c) >> 4U];
                    out += kHex[static_cast<unsigned char>(c) & 0x0fU];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void append(const Value& value, std::string& out) {
    switch (value.kind()) {
        case Kind::null: out += "null"; return;
        case Kind::boolean: out += value.as_bool() ? "true" : "false"; return;
        case Kind::integer: {
            std::array<char, 24> digits{};
            auto* const end = std::to_chars(digits.data(), digits.data() + digits.size(), value.as_integer()).ptr;
            out.append(digits.data(), end);
            return;
        }
        case Kind::number_text: out += value.as_number_text().literal; return;
        case Kind::string: append_escaped(value.as_string(), out); return;
        case Kind::array: {
            out += '[';
            bool first = true;
            for (const Value& item : value.as_array()) {
                if (!first) out += ',';
                first = false;
                append(item, out);
            }
            out += ']';
            return;
        }
        case Kind::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, member] : value.as_object()) {
                if (!first) out += ',';
                first = false;
                append_escaped(key, out);
                out += ':';
                append(member, out);
            }
            out += '}';
            return;
        }
    }
}

}  // namespace

std::string to_json(const Value& value) {
    std::string out;
    append(value, out);
    return out;
}

}  // namespace bulkhead::json
