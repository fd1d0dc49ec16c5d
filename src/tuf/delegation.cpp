#include "tuf/delegation.hpp"

#include <algorithm>
#include <vector>

#include "base/text.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::tuf {

namespace {

// Code points of a UTF-8 string (validated by the JSON parser), so that "?" matches one
// character, not one byte.
std::vector<char32_t> code_points(std::string_view text) {
    std::vector<char32_t> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 1;
        char32_t value = lead;
        if (lead >= 0xf0) {
            length = 4;
            value = lead & 0x07U;
        } else if (lead >= 0xe0) {
            length = 3;
            value = lead & 0x0fU;
        } else if (lead >= 0xc0) {
            length = 2;
            value = lead & 0x1fU;
        }
        for (std::size_t k = 1; k < length && i + k < text.size(); ++k) {
            value = (value << 6U) | (static_cast<unsigned char>(text[i + k]) & 0x3fU);
        }
        out.push_back(value);
        i += length;
    }
    return out;
}

// Parses a "[...]" class starting at pattern[start] ('['). Returns the index after ']' and
// whether `c` is in the class, or npos if the class is not closed (then '[' is literal).
std::size_t match_class(const std::vector<char32_t>& pattern, std::size_t start, char32_t c, bool& matched) {
    std::size_t i = start + 1;
    bool negated = false;
    if (i < pattern.size() && pattern[i] == U'!') {
        negated = true;
        ++i;
    }
    const std::size_t first = i;
    // A ']' right after '[' or '[!' is a literal member.
    if (i < pattern.size() && pattern[i] == U']') ++i;
    while (i < pattern.size() && pattern[i] != U']') ++i;
    if (i >= pattern.size()) return std::string_view::npos;
    bool in_class = false;
    for (std::size_t k = first; k < i; ++k) {
        if (k + 2 < i && pattern[k + 1] == U'-') {
            if (pattern[k] <= c && c <= pattern[k + 2]) in_class = true;  // reversed ranges match nothing
            k += 2;
        } else if (pattern[k] == c) {
            in_class = true;
        }
    }
    matched = in_class != negated;
    return i + 1;
}

bool segment_matches(const std::vector<char32_t>& text, const std::vector<char32_t>& pattern) {
    // Iterative wildcard matching with backtracking to the last '*'.
    std::size_t t = 0;
    std::size_t p = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_text = 0;
    while (t < text.size()) {
        if (p < pattern.size()) {
            const char32_t token = pattern[p];
            if (token == U'*') {
                star = p++;
                star_text = t;
                continue;
            }
            if (token == U'?') {
                ++p;
                ++t;
                continue;
            }
            if (token == U'[') {
                bool matched = false;
                const std::size_t after = match_class(pattern, p, text[t], matched);
                if (after != std::string_view::npos) {
                    if (matched) {
                        p = after;
                        ++t;
                        continue;
                    }
                } else if (text[t] == U'[') {
                    ++p;
                    ++t;
                    continue;
                }
            } else if (token == text[t]) {
                ++p;
                ++t;
                continue;
            }
        }
        if (star == std::string_view::npos) return false;
        p = star + 1;
        t = ++star_text;
    }
    while (p < pattern.size() && pattern[p] == U'*') ++p;
    return p == pattern.size();
}

std::vector<std::string_view> split(std::string_view text) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = text.find('/', start);
        if (slash == std::string_view::npos) {
            parts.push_back(text.substr(start));
            return parts;
        }
        parts.push_back(text.substr(start, slash - start));
        start = slash + 1;
    }
}

}  // namespace

bool path_matches_pattern(std::string_view path, std::string_view pattern) {
    const auto path_parts = split(path);
    const auto pattern_parts = split(pattern);
    if (path_parts.size() != pattern_parts.size()) return false;
    for (std::size_t i = 0; i < path_parts.size(); ++i) {
        if (!segment_matches(code_points(path_parts[i]), code_points(pattern_parts[i]))) return false;
    }
    return true;
}

std::string target_path_hash(std::string_view path) {
    return hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, path));
}

bool role_covers_path(const DelegatedRole& role, std::string_view path, const std::string& path_hash) {
    if (role.paths) {
        return std::any_of(role.paths->begin(), role.paths->end(),
                           [path](const std::string& pattern) { return path_matches_pattern(path, pattern); });
    }
    if (role.path_hash_prefixes) {
        return std::any_of(role.path_hash_prefixes->begin(), role.path_hash_prefixes->end(),
                           [&path_hash](const std::string& prefix) { return path_hash.starts_with(prefix); });
    }
    return false;
}

std::string succinct_bin_name(const SuccinctRoles& succinct, std::uint32_t index) {
    const std::size_t width = (succinct.bit_length + 3) / 4;
    std::string digits = hex(index).substr(2);
    if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
    return succinct.name_prefix + "-" + digits;
}

std::string succinct_bin_for(const SuccinctRoles& succinct, const std::string& path_hash) {
    // The first 32 bits of the hash, big-endian, keep their top bit_length bits.
    std::uint32_t prefix = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        const char c = path_hash[i];
        prefix = (prefix << 4U) | static_cast<std::uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    const std::uint32_t index = succinct.bit_length >= 32 ? prefix : prefix >> (32U - succinct.bit_length);
    return succinct_bin_name(succinct, index);
}

}  // namespace bulkhead::tuf
