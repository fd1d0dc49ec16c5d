#include "archpkg/version.hpp"

#include <algorithm>
#include <array>

#include "base/text.hpp"

namespace bulkhead::archpkg {
namespace {

// pacman compares in the C locale: only ASCII letters and digits form segments.
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) noexcept { return is_digit(c) || is_alpha(c); }

std::string_view without_leading_zeros(std::string_view digits) noexcept {
    const auto first = digits.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view{} : digits.substr(first);
}

// rpm's segment comparison as pacman uses it: runs of digits compare as numbers, runs of
// letters as strings, a number beats letters, and separators only count by their length.
int compare_segments(std::string_view left, std::string_view right) noexcept {
    if (left == right) return 0;
    std::size_t one = 0;
    std::size_t two = 0;
    std::size_t previous_one = 0;
    std::size_t previous_two = 0;
    while (one < left.size() && two < right.size()) {
        while (one < left.size() && !is_alnum(left[one])) ++one;
        while (two < right.size() && !is_alnum(right[two])) ++two;
        if (one == left.size() || two == right.size()) break;
        // Different separator lengths decide on their own ("1..0" sorts after "1.0").
        if (one - previous_one != two - previous_two) return one - previous_one < two - previous_two ? -1 : 1;
        const bool numeric = is_digit(left[one]);
        const auto same_kind = [numeric](char c) { return numeric ? is_digit(c) : is_alpha(c); };
        std::size_t end_one = one;
        std::size_t end_two = two;
        while (end_one < left.size() && same_kind(left[end_one])) ++end_one;
        while (end_two < right.size() && same_kind(right[end_two])) ++end_two;
        auto segment_one = left.substr(one, end_one - one);
        auto segment_two = right.substr(two, end_two - two);
        // The right side has the other kind of segment here: a number is newer than letters.
        if (segment_two.empty()) return numeric ? 1 : -1;
        if (numeric) {
            segment_one = without_leading_zeros(segment_one);
            segment_two = without_leading_zeros(segment_two);
            if (segment_one.size() != segment_two.size()) return segment_one.size() > segment_two.size() ? 1 : -1;
        }
        const int order = segment_one.compare(segment_two);
        if (order != 0) return order < 0 ? -1 : 1;
        one = previous_one = end_one;
        two = previous_two = end_two;
    }
    const bool left_done = one == left.size();
    const bool right_done = two == right.size();
    if (left_done && right_done) return 0;
    // What remains decides: letters left over are older than nothing ("1.0alpha" < "1.0"),
    // anything else left over is newer.
    if ((left_done && !is_alpha(right[two])) || (!left_done && is_alpha(left[one]))) return -1;
    return 1;
}

struct VersionParts {
    std::string_view epoch;
    std::string_view version;
    std::string_view release;
    bool has_release = false;
};

// pacman's split: leading digits followed by ':' are the epoch (default "0"), and the text after
// the last '-' behind them is the release.
VersionParts split_version(std::string_view text) noexcept {
    VersionParts parts;
    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    const auto last_dash = text.rfind('-');
    const bool dash_after_digits = last_dash != std::string_view::npos && last_dash >= digits;
    std::size_t version_start = 0;
    if (digits < text.size() && text[digits] == ':') {
        parts.epoch = digits == 0 ? std::string_view{"0"} : text.substr(0, digits);
        version_start = digits + 1;
    } else {
        parts.epoch = "0";
    }
    if (dash_after_digits) {
        parts.version = text.substr(version_start, last_dash - version_start);
        parts.release = text.substr(last_dash + 1);
        parts.has_release = true;
    } else {
        parts.version = text.substr(version_start);
    }
    return parts;
}

bool is_name_char(char c) noexcept { return is_alnum(c) || c == '@' || c == '.' || c == '_' || c == '+' || c == '-'; }

bool is_printable_ascii(char c) noexcept { return c > ' ' && c < 0x7f; }

constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMaxVersionBytes = 255;

Result<void> check_dependency_version(std::string_view version, std::string_view dependency) {
    if (version.empty()) {
        return fail(ErrorCode::parse, concat({"dependency '", dependency, "' has a relation but no version"}));
    }
    if (version.size() > kMaxVersionBytes) {
        return fail(ErrorCode::too_large, concat({"dependency '", dependency, "' has a version over 255 bytes"}));
    }
    for (const char c : version) {
        if (!is_printable_ascii(c) || c == '<' || c == '>' || c == '=' || c == '/') {
            return fail(ErrorCode::parse,
                        concat({"dependency '", valid_utf8(dependency), "' has a character not allowed in a version"}));
        }
    }
    return {};
}

}  // namespace

int compare_versions(std::string_view left, std::string_view right) noexcept {
    if (left == right) return 0;
    const auto one = split_version(left);
    const auto two = split_version(right);
    int order = compare_segments(one.epoch, two.epoch);
    if (order == 0) order = compare_segments(one.version, two.version);
    if (order == 0 && one.has_release && two.has_release) order = compare_segments(one.release, two.release);
    return order;
}

void sort_versions(std::vector<std::string>& versions) {
    const auto before = [](const std::string& a, const std::string& b) {
        const int order = compare_versions(a, b);
        return order < 0 || (order == 0 && a < b);
    };
    for (std::size_t i = 1; i < versions.size(); ++i) {
        for (std::size_t j = i; j > 0 && before(versions[j], versions[j - 1]); --j)
            std::swap(versions[j], versions[j - 1]);
    }
}

Result<void> check_package_name(std::string_view name) {
    if (name.empty()) return fail(ErrorCode::parse, "package name is empty");
    if (name.size() > kMaxNameBytes) return fail(ErrorCode::too_large, "package name is over 255 bytes");
    if (name.front() == '-' || name.front() == '.') {
        return fail(ErrorCode::parse, concat({"package name '", valid_utf8(name), "' starts with '-' or '.'"}));
    }
    for (const char c : name) {
        if (!is_name_char(c)) {
            return fail(ErrorCode::parse, concat({"package name '", valid_utf8(name),
                                                  "' has a character other than letters, digits and @._+-"}));
        }
    }
    return {};
}

Result<void> check_full_version(std::string_view version) {
    const auto shown = [&] { return valid_utf8(version); };
    if (version.empty()) return fail(ErrorCode::parse, "package version is empty");
    if (version.size() > kMaxVersionBytes) return fail(ErrorCode::too_large, "package version is over 255 bytes");
    std::string_view rest = version;
    if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
        const auto epoch = rest.substr(0, colon);
        if (epoch.empty() || epoch.find_first_not_of("0123456789") != std::string_view::npos) {
            return fail(ErrorCode::parse,
                        concat({"package version '", shown(), "' has an epoch that is not a number"}));
        }
        rest.remove_prefix(colon + 1);
    }
    const auto dash = rest.rfind('-');
    if (dash == std::string_view::npos) {
        return fail(ErrorCode::parse, concat({"package version '", shown(), "' has no release (pkgver-pkgrel)"}));
    }
    const auto pkgver = rest.substr(0, dash);
    const auto pkgrel = rest.substr(dash + 1);
    if (pkgver.empty()) return fail(ErrorCode::parse, concat({"package version '", shown(), "' has an empty pkgver"}));
    for (const char c : pkgver) {
        if (!is_printable_ascii(c) || c == ':' || c == '/' || c == '-') {
            return fail(ErrorCode::parse,
                        concat({"package version '", shown(), "' has a character not allowed in pkgver"}));
        }
    }
    const auto dot = pkgrel.find('.');
    const auto major = pkgrel.substr(0, dot);
    const auto minor = dot == std::string_view::npos ? std::string_view{"0"} : pkgrel.substr(dot + 1);
    const auto digits_only = [](std::string_view text) {
        return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (!digits_only(major) || !digits_only(minor)) {
        return fail(ErrorCode::parse, concat({"package version '", shown(), "' has a pkgrel other than N or N.M"}));
    }
    return {};
}

std::string_view relation_symbol(Relation relation) noexcept {
    switch (relation) {
        case Relation::any: return "";
        case Relation::less: return "<";
        case Relation::less_equal: return "<=";
        case Relation::equal: return "=";
        case Relation::greater_equal: return ">=";
        case Relation::greater: return ">";
    }
    return "";
}

Result<Dependency> parse_dependency(std::string_view text) {
    const auto operator_at = text.find_first_of("<>=");
    Dependency dependency;
    const auto name = text.substr(0, operator_at);
    if (auto checked = check_package_name(name); !checked) {
        return fail(ErrorCode::parse, concat({"dependency '", valid_utf8(text), "': ", checked.error().message}));
    }
    dependency.name = std::string(name);
    if (operator_at == std::string_view::npos) return dependency;
    auto rest = text.substr(operator_at);
    struct Symbol {
        std::string_view text;
        Relation relation;
    };
    // Two-character relations first, so "<=" is not read as "<" followed by "=1.0".
    constexpr std::array<Symbol, 5> kSymbols = {{{"<=", Relation::less_equal},
                                                 {">=", Relation::greater_equal},
                                                 {"<", Relation::less},
                                                 {">", Relation::greater},
                                                 {"=", Relation::equal}}};
    for (const auto& symbol : kSymbols) {
        if (rest.starts_with(symbol.text)) {
            dependency.relation = symbol.relation;
            rest.remove_prefix(symbol.text.size());
            break;
        }
    }
    if (auto checked = check_dependency_version(rest, text); !checked) return fail(checked.error());
    dependency.version = std::string(rest);
    return dependency;
}

std::string format_dependency(const Dependency& dependency) {
    return concat({dependency.name, relation_symbol(dependency.relation), dependency.version});
}

Result<OptionalDependency> parse_optional_dependency(std::string_view text) {
    OptionalDependency optional;
    auto head = text;
    if (const auto colon = text.find(": "); colon != std::string_view::npos) {
        head = text.substr(0, colon);
        optional.description = std::string(text.substr(colon + 2));
    }
    auto dependency = parse_dependency(head);
    if (!dependency) return fail(dependency.error());
    optional.dependency = std::move(dependency).value();
    return optional;
}

bool version_satisfies(std::string_view version, const Dependency& dependency) noexcept {
    if (dependency.relation == Relation::any) return true;
    const int order = compare_versions(version, dependency.version);
    switch (dependency.relation) {
        case Relation::any: return true;
        case Relation::less: return order < 0;
        case Relation::less_equal: return order <= 0;
        case Relation::equal: return order == 0;
        case Relation::greater_equal: return order >= 0;
        case Relation::greater: return order > 0;
    }
    return false;
}

bool satisfies(std::string_view name, std::string_view version, const std::vector<Dependency>& provides,
               const Dependency& dependency) noexcept {
    if (name == dependency.name && version_satisfies(version, dependency)) return true;
    return std::ranges::any_of(provides, [&](const Dependency& provision) {
        if (provision.name != dependency.name) return false;
        // Only "name=version" provisions carry a version a relation can be checked against.
        return dependency.relation == Relation::any ||
               (provision.relation == Relation::equal && version_satisfies(provision.version, dependency));
    });
}

}  // namespace bulkhead::archpkg
