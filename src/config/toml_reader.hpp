// Reading TOML configuration strictly (app definitions, image specs): every error names the
// file, line, column and key; unknown keys, wrong types, out-of-range numbers, NUL bytes and
// over-long strings are refused.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "base/result.hpp"

namespace bulkhead::config {

inline constexpr std::size_t kMaxStringBytes = 4096;

class TomlReader {
public:
    explicit TomlReader(std::string_view source) : source_(source) {}

    [[nodiscard]] Failure error(const toml::node& node, const std::string& key, const std::string& what) const {
        return error_at(node.source().begin, key, what);
    }
    [[nodiscard]] Failure error_at(const toml::source_position& at, const std::string& key,
                                   const std::string& what) const {
        return fail(ErrorCode::invalid_argument, source_ + ":" + std::to_string(at.line) + ":" +
                                                     std::to_string(at.column) + ": " + key + ": " + what);
    }
    [[nodiscard]] Failure error(const std::string& key, const std::string& what) const {
        return fail(ErrorCode::invalid_argument, source_ + ": " + key + ": " + what);
    }

    // Every key of `table` must be one of `allowed`.
    Result<void> only(const toml::table& table, const std::string& path,
                      std::initializer_list<std::string_view> allowed) const {
        for (const auto& [key, node] : table) {
            if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
                const std::string full = path.empty() ? std::string(key.str()) : path + "." + std::string(key.str());
                (void)node;
                return error_at(key.source().begin, full, "unknown key");
            }
        }
        return {};
    }

    Result<std::string> text(const toml::node& node, const std::string& key) const {
        const auto* value = node.as_string();
        if (value == nullptr) return error(node, key, "must be a string");
        const std::string& text = value->get();
        if (text.size() > kMaxStringBytes)
            return error(node, key, "longer than " + std::to_string(kMaxStringBytes) + " bytes");
        if (text.find('\0') != std::string::npos) return error(node, key, "contains a NUL byte");
        return text;
    }

    Result<std::uint32_t> number(const toml::node& node, const std::string& key, std::int64_t low,
                                 std::int64_t high) const {
        const auto* value = node.as_integer();
        if (value == nullptr) return error(node, key, "must be a whole number");
        const std::int64_t number = value->get();
        if (number < low || number > high) {
            return error(node, key, "must be between " + std::to_string(low) + " and " + std::to_string(high));
        }
        return static_cast<std::uint32_t>(number);
    }

private:
    std::string source_;
};

}  // namespace bulkhead::config
