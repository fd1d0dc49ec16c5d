#include "json/canonical.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace bulkhead::json {

namespace {

void append_string(const std::string& text, std::string& out) {
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
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

Result<void> append_canonical(const Value& value, std::string& out) {
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
            if (!is_integer_literal(literal)) {
                return fail(ErrorCode::unsupported,
                            "canonical JSON cannot represent the non-integer number " + literal);
            }
            out += literal;
            return {};
        }
        case Kind::string: append_string(value.as_string(), out); return {};
        case Kind::array: {
            out += '[';
            bool first = true;
            for (const Value& item : value.as_array()) {
                if (!first) out += ',';
                first = false;
                if (auto appended = append_canonical(item, out); !appended) return appended;
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
                append_string(key, out);
                out += ':';
                if (auto appended = append_canonical(member, out); !appended) return appended;
            }
            out += '}';
            return {};
        }
    }
    return fail(ErrorCode::internal, "unknown JSON kind");
}

Result<std::string> canonical(const Value& value) {
    std::string out;
    if (auto appended = append_canonical(value, out); !appended) return fail(appended.error());
    return out;
}

}  // namespace bulkhead::json
