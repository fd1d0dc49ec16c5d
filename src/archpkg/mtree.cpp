#include "archpkg/mtree.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <set>

#include "archpkg/key_value.hpp"
#include "base/text.hpp"

namespace bulkhead::archpkg {
namespace {

// Keywords of one line or of the /set defaults; absent ones are not in the map.
using Keywords = std::map<std::string, std::string, std::less<>>;

const std::set<std::string_view>& known_keywords() {
    static const std::set<std::string_view> kKnown = {"type", "uid",       "gid",          "mode", "time",
                                                      "size", "md5digest", "sha256digest", "link"};
    return kKnown;
}

bool is_octal(char c) noexcept { return c >= '0' && c <= '7'; }

// bsdtar writes every byte outside a safe set as a backslash and three octal digits; nothing
// else may follow a backslash.
Result<std::string> unescape(std::string_view text, std::string_view what) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t at = 0; at < text.size(); ++at) {
        if (text[at] != '\\') {
            out += text[at];
            continue;
        }
        if (text.size() - at < 4) {
            return fail(ErrorCode::parse, concat({what, " ends inside an escape"}));
        }
        if (!is_octal(text[at + 1]) || !is_octal(text[at + 2]) || !is_octal(text[at + 3]) || text[at + 1] > '3') {
            return fail(ErrorCode::parse, concat({what, " has an escape other than \\ and three octal digits"}));
        }
        const int value = (text[at + 1] - '0') * 64 + (text[at + 2] - '0') * 8 + (text[at + 3] - '0');
        if (value == 0) return fail(ErrorCode::parse, concat({what, " has an escaped NUL"}));
        out += static_cast<char>(value);
        at += 3;
    }
    return out;
}

Result<std::uint64_t> parse_unsigned(std::string_view text, std::uint64_t max, std::string_view what) {
    std::uint64_t value = 0;
    const auto* const end = text.data() + text.size();
    const auto [ptr, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc{} || ptr != end || value > max || text.front() == '+') {
        return fail(ErrorCode::parse, concat({what, " is not a number up to ", std::to_string(max)}));
    }
    return value;
}

Result<MtreeEntry> make_entry(std::string path, const Keywords& keywords, std::string_view where) {
    const auto value = [&](std::string_view key) -> const std::string* {
        const auto found = keywords.find(key);
        return found == keywords.end() ? nullptr : &found->second;
    };
    const auto missing = [&](std::string_view key) { return fail(ErrorCode::parse, concat({where, " has no ", key})); };
    MtreeEntry entry;
    entry.path = std::move(path);
    const auto* type = value("type");
    if (type == nullptr) return missing("type");
    if (*type == "file") {
        entry.type = EntryType::file;
    } else if (*type == "dir") {
        entry.type = EntryType::directory;
    } else if (*type == "link") {
        entry.type = EntryType::symlink;
    } else {
        return fail(ErrorCode::unsupported,
                    concat({where, " has type '", valid_utf8(*type), "' (only file, dir and link are allowed)"}));
    }
    for (const std::string_view key : {"uid", "gid", "mode", "time"}) {
        if (value(key) == nullptr) return missing(key);
    }
    constexpr std::uint64_t kMaxId = 0xffffffffU;
    auto uid = parse_unsigned(*value("uid"), kMaxId, concat({where, " uid"}));
    if (!uid) return fail(uid.error());
    auto gid = parse_unsigned(*value("gid"), kMaxId, concat({where, " gid"}));
    if (!gid) return fail(gid.error());
    entry.uid = static_cast<std::uint32_t>(*uid);
    entry.gid = static_cast<std::uint32_t>(*gid);

    const auto& mode = *value("mode");
    constexpr std::size_t kMaxModeDigits = 4;
    if (mode.empty() || mode.size() > kMaxModeDigits || !std::all_of(mode.begin(), mode.end(), is_octal)) {
        return fail(ErrorCode::parse, concat({where, " mode is not up to four octal digits"}));
    }
    for (const char digit : mode) entry.mode = entry.mode * 8 + static_cast<std::uint32_t>(digit - '0');

    // libarchive writes the time as seconds '.' nanoseconds, both as integers.
    const std::string_view time = *value("time");
    const auto dot = time.find('.');
    constexpr std::uint64_t kMaxSeconds = INT64_MAX;
    constexpr std::uint64_t kMaxNanoseconds = 999999999;
    auto seconds = parse_unsigned(time.substr(0, dot), kMaxSeconds, concat({where, " time"}));
    if (!seconds) return fail(seconds.error());
    entry.time_seconds = static_cast<std::int64_t>(*seconds);
    if (dot != std::string_view::npos) {
        auto nanoseconds = parse_unsigned(time.substr(dot + 1), kMaxNanoseconds, concat({where, " time nanoseconds"}));
        if (!nanoseconds) return fail(nanoseconds.error());
        entry.time_nanoseconds = static_cast<std::uint32_t>(*nanoseconds);
    }

    const auto* size = value("size");
    const auto* sha256 = value("sha256digest");
    const auto* md5 = value("md5digest");
    const auto* link = value("link");
    if (entry.type == EntryType::file) {
        if (size == nullptr) return missing("size");
        if (sha256 == nullptr) return missing("sha256digest");
        auto parsed_size = parse_unsigned(*size, INT64_MAX, concat({where, " size"}));
        if (!parsed_size) return fail(parsed_size.error());
        entry.size = *parsed_size;
        constexpr std::size_t kSha256HexDigits = 64;
        if (sha256->size() != kSha256HexDigits || sha256->find_first_not_of("0123456789abcdef") != std::string::npos) {
            return fail(ErrorCode::parse, concat({where, " sha256digest is not 64 lower-case hex digits"}));
        }
        entry.sha256 = hex_decode(*sha256).value();
        constexpr std::size_t kMd5HexDigits = 32;
        if (md5 != nullptr &&
            (md5->size() != kMd5HexDigits || md5->find_first_not_of("0123456789abcdef") != std::string::npos)) {
            return fail(ErrorCode::parse, concat({where, " md5digest is not 32 lower-case hex digits"}));
        }
        if (link != nullptr) return fail(ErrorCode::parse, concat({where, " is a file with a link target"}));
    } else {
        if (size != nullptr || sha256 != nullptr || md5 != nullptr) {
            return fail(ErrorCode::parse, concat({where, " has a size or digest but is not a file"}));
        }
        if (entry.type == EntryType::symlink) {
            if (link == nullptr) return missing("link");
            auto target = unescape(*link, concat({where, " link"}));
            if (!target) return fail(target.error());
            if (target->empty() || target->size() > kMaxPathBytes) {
                return fail(ErrorCode::parse, concat({where, " link target is empty or over 4095 bytes"}));
            }
            entry.link = std::move(target).value();
        } else if (link != nullptr) {
            return fail(ErrorCode::parse, concat({where, " is a directory with a link target"}));
        }
    }
    return entry;
}

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t at = 0;
    while (at < line.size()) {
        while (at < line.size() && line[at] == ' ') ++at;
        if (at == line.size()) break;
        const auto end = line.find(' ', at);
        words.push_back(line.substr(at, end - at));
        at = end == std::string_view::npos ? line.size() : end;
    }
    return words;
}

}  // namespace

std::string_view entry_type_name(EntryType type) noexcept {
    switch (type) {
        case EntryType::file: return "file";
        case EntryType::directory: return "directory";
        case EntryType::symlink: return "symlink";
    }
    return "unknown";
}

Result<std::string> normalise_path(std::string_view path, std::string_view what) {
    const auto refuse = [&](std::string_view why) {
        return fail(ErrorCode::parse, concat({what, " path '", valid_utf8(path), "' ", why}));
    };
    std::string_view rest = path;
    if (rest.starts_with("./")) rest.remove_prefix(2);
    if (rest.ends_with('/')) rest.remove_suffix(1);
    if (rest.empty()) return refuse("is empty");
    if (rest.size() > kMaxPathBytes) return refuse("is over 4095 bytes");
    if (rest.front() == '/') return refuse("is absolute");
    if (rest.find('\0') != std::string_view::npos) return refuse("contains NUL");
    std::size_t at = 0;
    while (at <= rest.size()) {
        const auto end = std::min(rest.find('/', at), rest.size());
        const auto component = rest.substr(at, end - at);
        if (component.empty() || component == "." || component == "..") {
            return refuse("has an empty, '.' or '..' component");
        }
        at = end + 1;
    }
    return std::string(rest);
}

Result<Mtree> parse_mtree(std::string_view text) {
    if (text.size() > kMaxMtreeTextBytes) return fail(ErrorCode::too_large, ".MTREE is larger than 64 MiB");
    if (!text.starts_with("#mtree\n")) return fail(ErrorCode::parse, ".MTREE does not start with '#mtree'");
    if (text.back() != '\n') return fail(ErrorCode::parse, ".MTREE does not end with a newline (truncated?)");

    Mtree mtree;
    Keywords defaults;
    std::set<std::string, std::less<>> paths;
    std::size_t line_number = 0;
    for (std::size_t start = 0; start < text.size();) {
        const auto end = text.find('\n', start);
        const auto line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        const auto where = concat({".MTREE line ", std::to_string(line_number)});
        if (!is_clean_text(line)) return fail(ErrorCode::parse, where + " has control characters or bad UTF-8");
        if (line.empty() || line.front() == '#') continue;
        if (line.back() == '\\') return fail(ErrorCode::parse, where + " continues on the next line (not supported)");

        const auto words = split_words(line);
        if (words.empty()) return fail(ErrorCode::parse, where + " has only spaces");
        const bool is_set = words.front() == "/set";
        const bool is_unset = words.front() == "/unset";
        if (is_unset) {
            for (std::size_t i = 1; i < words.size(); ++i) {
                if (words[i] == "all") {
                    defaults.clear();
                } else if (known_keywords().contains(words[i])) {
                    defaults.erase(std::string(words[i]));
                } else {
                    return fail(ErrorCode::parse, concat({where, " unsets an unknown keyword '", words[i], "'"}));
                }
            }
            continue;
        }
        if (words.front().front() == '/' && !is_set) {
            return fail(ErrorCode::parse, concat({where, " has an unknown command '", words.front(), "'"}));
        }
        Keywords keywords = is_set ? Keywords{} : defaults;
        std::set<std::string_view> on_this_line;
        for (std::size_t i = 1; i < words.size(); ++i) {
            const auto equals = words[i].find('=');
            if (equals == std::string_view::npos || equals == 0) {
                return fail(ErrorCode::parse, concat({where, " has '", words[i], "', not keyword=value"}));
            }
            const auto key = words[i].substr(0, equals);
            if (!known_keywords().contains(key)) {
                return fail(ErrorCode::parse, concat({where, " has an unknown keyword '", key, "'"}));
            }
            if (!on_this_line.insert(key).second) {
                return fail(ErrorCode::parse, concat({where, " repeats the keyword '", key, "'"}));
            }
            keywords.insert_or_assign(std::string(key), std::string(words[i].substr(equals + 1)));
        }
        if (is_set) {
            for (auto& [key, value] : keywords) defaults.insert_or_assign(key, std::move(value));
            continue;
        }
        if (mtree.entries.size() >= kMaxMtreeEntries) {
            return fail(ErrorCode::too_large, ".MTREE has more than 500000 entries");
        }
        auto raw_path = unescape(words.front(), where + " path");
        if (!raw_path) return fail(raw_path.error());
        if (!raw_path->starts_with("./")) {
            return fail(ErrorCode::parse, concat({where, " path does not start with './'"}));
        }
        auto path = normalise_path(*raw_path, where);
        if (!path) return fail(path.error());
        if (!paths.insert(*path).second) {
            return fail(ErrorCode::parse, concat({where, " lists '", valid_utf8(*path), "' a second time"}));
        }
        auto entry = make_entry(std::move(path).value(), keywords, where);
        if (!entry) return fail(entry.error());
        if (keywords.contains("md5digest")) mtree.has_md5 = true;
        mtree.entries.push_back(std::move(entry).value());
    }
    return mtree;
}

}  // namespace bulkhead::archpkg
