#include "json/parse.hpp"

#include <charconv>
#include <cstdint>
#include <string>

namespace bulkhead::json {

namespace {

class Parser {
public:
    Parser(std::string_view text, const ParseLimits& limits) : text_(text), limits_(limits) {}

    Result<Value> document() {
        skip_whitespace();
        auto value = parse_value(0);
        if (!value) return value;
        skip_whitespace();
        if (pos_ != text_.size()) return error("unexpected data after the JSON value");
        return value;
    }

private:
    Failure error(const std::string& what) const {
        return fail(ErrorCode::parse, "JSON at byte " + std::to_string(pos_) + ": " + what);
    }

    [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
    [[nodiscard]] char peek() const { return text_[pos_]; }

    void skip_whitespace() {
        while (!at_end()) {
            const char c = peek();
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            ++pos_;
        }
    }

    bool consume_literal(std::string_view literal) {
        if (text_.substr(pos_, literal.size()) != literal) return false;
        pos_ += literal.size();
        return true;
    }

    Result<Value> parse_value(std::size_t depth) {
        if (at_end()) return error("unexpected end of input, expected a value");
        switch (peek()) {
            case '{': return parse_object(depth + 1);
            case '[': return parse_array(depth + 1);
            case '"': {
                auto text = parse_string();
                if (!text) return fail(std::move(text).error());
                return Value(std::move(*text));
            }
            case 't':
                if (consume_literal("true")) return Value(true);
                break;
            case 'f':
                if (consume_literal("false")) return Value(false);
                break;
            case 'n':
                if (consume_literal("null")) return Value();
                break;
            default:
                if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
                break;
        }
        return error("unexpected character, expected a value");
    }

    Result<Value> parse_object(std::size_t depth) {
        if (depth > limits_.max_depth) return error("nesting deeper than " + std::to_string(limits_.max_depth));
        ++pos_;  // '{'
        Object members;
        skip_whitespace();
        if (!at_end() && peek() == '}') {
            ++pos_;
            return Value(std::move(members));
        }
        for (;;) {
            skip_whitespace();
            if (at_end() || peek() != '"') return error("expected a string as object key");
            auto key = parse_string();
            if (!key) return fail(std::move(key).error());
            skip_whitespace();
            if (at_end() || peek() != ':') return error("expected ':' after object key");
            ++pos_;
            skip_whitespace();
            auto value = parse_value(depth);
            if (!value) return value;
            members.emplace_back(std::move(*key), std::move(*value));
            skip_whitespace();
            if (at_end()) return error("unexpected end of input in object");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == '}') {
                ++pos_;
                break;
            }
            return error("expected ',' or '}' in object");
        }
        if (const std::string* duplicate = sort_members(members)) {
            return fail(ErrorCode::parse, "JSON object ending at byte " + std::to_string(pos_) + " has the key \"" +
                                              *duplicate + "\" more than once");
        }
        return Value(std::move(members));
    }

    Result<Value> parse_array(std::size_t depth) {
        if (depth > limits_.max_depth) return error("nesting deeper than " + std::to_string(limits_.max_depth));
        ++pos_;  // '['
        Array items;
        skip_whitespace();
        if (!at_end() && peek() == ']') {
            ++pos_;
            return Value(std::move(items));
        }
        for (;;) {
            skip_whitespace();
            auto value = parse_value(depth);
            if (!value) return value;
            items.push_back(std::move(*value));
            skip_whitespace();
            if (at_end()) return error("unexpected end of input in array");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == ']') {
                ++pos_;
                return Value(std::move(items));
            }
            return error("expected ',' or ']' in array");
        }
    }

    Result<Value> parse_number() {
        const std::size_t start = pos_;
        if (peek() == '-') ++pos_;
        if (at_end()) return error("incomplete number");
        if (peek() == '0') {
            ++pos_;
        } else if (peek() >= '1' && peek() <= '9') {
            while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
        } else {
            return error("invalid number");
        }
        bool integral = true;
        if (!at_end() && peek() == '.') {
            integral = false;
            ++pos_;
            if (at_end() || peek() < '0' || peek() > '9') return error("expected digits after '.'");
            while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
        }
        if (!at_end() && (peek() == 'e' || peek() == 'E')) {
            integral = false;
            ++pos_;
            if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
            if (at_end() || peek() < '0' || peek() > '9') return error("expected digits in exponent");
            while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
        }
        const std::string_view literal = text_.substr(start, pos_ - start);
        if (integral) {
            std::int64_t value = 0;
            const auto [end, code] = std::from_chars(literal.data(), literal.data() + literal.size(), value);
            if (code == std::errc() && end == literal.data() + literal.size()) return Value(value);
        }
        return Value(NumberText{std::string(literal)});
    }

    Result<unsigned> parse_hex4() {
        if (text_.size() - pos_ < 4) return error("incomplete \\u escape");
        unsigned value = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_++];
            value <<= 4U;
            if (c >= '0' && c <= '9') {
                value |= static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                value |= static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                value |= static_cast<unsigned>(c - 'A' + 10);
            } else {
                --pos_;
                return error("invalid hex digit in \\u escape");
            }
        }
        return value;
    }

    static void append_utf8(std::string& out, unsigned code_point) {
        if (code_point < 0x80) {
            out += static_cast<char>(code_point);
        } else if (code_point < 0x800) {
            out += static_cast<char>(0xc0U | (code_point >> 6U));
            out += static_cast<char>(0x80U | (code_point & 0x3fU));
        } else if (code_point < 0x10000) {
            out += static_cast<char>(0xe0U | (code_point >> 12U));
            out += static_cast<char>(0x80U | ((code_point >> 6U) & 0x3fU));
            out += static_cast<char>(0x80U | (code_point & 0x3fU));
        } else {
            out += static_cast<char>(0xf0U | (code_point >> 18U));
            out += static_cast<char>(0x80U | ((code_point >> 12U) & 0x3fU));
            out += static_cast<char>(0x80U | ((code_point >> 6U) & 0x3fU));
            out += static_cast<char>(0x80U | (code_point & 0x3fU));
        }
    }

    // Length of the valid UTF-8 sequence starting at pos_, or 0 if it is invalid (overlong
    // forms, surrogates and code points above U+10FFFF are invalid).
    [[nodiscard]] std::size_t utf8_sequence_length() const {
        const auto byte = [this](std::size_t offset) { return static_cast<unsigned char>(text_[pos_ + offset]); };
        const unsigned char lead = byte(0);
        const std::size_t left = text_.size() - pos_;
        auto continuation = [&](std::size_t offset) { return offset < left && (byte(offset) & 0xc0U) == 0x80U; };
        if (lead >= 0xc2 && lead <= 0xdf) return continuation(1) ? 2 : 0;
        if (lead >= 0xe0 && lead <= 0xef) {
            if (!continuation(1) || !continuation(2)) return 0;
            if (lead == 0xe0 && byte(1) < 0xa0) return 0;   // overlong
            if (lead == 0xed && byte(1) >= 0xa0) return 0;  // UTF-16 surrogate
            return 3;
        }
        if (lead >= 0xf0 && lead <= 0xf4) {
            if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
            if (lead == 0xf0 && byte(1) < 0x90) return 0;   // overlong
            if (lead == 0xf4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
            return 4;
        }
        return 0;
    }

    Result<std::string> parse_string() {
        ++pos_;  // opening quote
        std::string out;
        for (;;) {
            // Copy the run of plain characters at once.
            const std::size_t run_start = pos_;
            while (!at_end()) {
                const auto c = static_cast<unsigned char>(peek());
                if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
                ++pos_;
            }
            out.append(text_.data() + run_start, pos_ - run_start);
            if (at_end()) return error("unterminated string");
            const auto c = static_cast<unsigned char>(peek());
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) return error("control character in string");
            if (c >= 0x80) {
                const std::size_t length = utf8_sequence_length();
                if (length == 0) return error("invalid UTF-8 in string");
                out.append(text_.data() + pos_, length);
                pos_ += length;
                continue;
            }
            // A backslash escape.
            ++pos_;
            if (at_end()) return error("unterminated escape");
            const char escape = text_[pos_++];
            switch (escape) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    auto unit = parse_hex4();
                    if (!unit) return fail(std::move(unit).error());
                    unsigned code_point = *unit;
                    if (code_point >= 0xdc00 && code_point <= 0xdfff) return error("lone low surrogate in \\u escape");
                    if (code_point >= 0xd800 && code_point <= 0xdbff) {
                        if (!consume_literal("\\u")) return error("high surrogate not followed by a low surrogate");
                        auto low = parse_hex4();
                        if (!low) return fail(std::move(low).error());
                        if (*low < 0xdc00 || *low > 0xdfff)
                            return error("high surrogate not followed by a low surrogate");
                        code_point = 0x10000 + ((code_point - 0xd800) << 10U) + (*low - 0xdc00);
                    }
                    append_utf8(out, code_point);
                    break;
                }
                default: --pos_; return error("invalid escape character");
            }
        }
    }

    std::string_view text_;
    ParseLimits limits_;
    std::size_t pos_ = 0;
};

}  // namespace

Result<Value> parse(std::string_view text, const ParseLimits& limits) {
    if (text.size() > limits.max_bytes) {
        return fail(ErrorCode::too_large, "JSON document of " + std::to_string(text.size()) +
                                              " bytes exceeds the limit of " + std::to_string(limits.max_bytes));
    }
    return Parser(text, limits).document();
}

}  // namespace bulkhead::json
