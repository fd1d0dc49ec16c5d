#include "curate/patches.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <utility>

#include "base/text.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::curate {
namespace {

std::string_view trim(std::string_view text) noexcept {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r");
    return text.substr(first, last - first + 1);
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    for (std::size_t start = 0; start < text.size();) {
        const auto end = std::min(text.find('\n', start), text.size());
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

// Whether one name or URL ends in a patch file: its last path component, without query,
// fragment and a compression suffix, ends in .patch or .diff.
bool is_patch_name(std::string_view word) noexcept {
    word = word.substr(0, word.find_first_of("?#"));
    while (!word.empty() && (word.back() == '"' || word.back() == '\'' || word.back() == ')')) word.remove_suffix(1);
    for (const std::string_view compression : {".gz", ".xz", ".bz2", ".zst", ".GZ", ".XZ", ".BZ2", ".ZST"}) {
        if (word.ends_with(compression)) {
            word.remove_suffix(compression.size());
            break;
        }
    }
    std::string lower(word.substr(word.size() > 6 ? word.size() - 6 : 0));
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return lower.ends_with(".patch") || lower.ends_with(".diff");
}

// A source may be "name::url": both the local name and the URL count.
bool names_patch_file(std::string_view word) noexcept {
    const auto rename = word.find("::");
    if (rename == std::string_view::npos) return is_patch_name(word);
    return is_patch_name(word.substr(0, rename)) || is_patch_name(word.substr(rename + 2));
}

// Splits a shell line into words at blanks and the control operators that can start a new
// command; quotes are not interpreted, which is enough to find command names.
std::vector<std::string_view> shell_words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t at = 0;
    const auto is_break = [](char c) {
        return c == ' ' || c == '\t' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '{' ||
               c == '}' || c == '`';
    };
    while (at < line.size()) {
        if (is_break(line[at])) {
            // Keep command separators as words of their own, so "a; patch" starts a new command.
            if (line[at] != ' ' && line[at] != '\t') words.push_back(line.substr(at, 1));
            ++at;
            continue;
        }
        const auto start = at;
        while (at < line.size() && !is_break(line[at])) ++at;
        words.push_back(line.substr(start, at - start));
    }
    return words;
}

bool starts_command(const std::vector<std::string_view>& words, std::size_t index) {
    if (index == 0) return true;
    const auto previous = words[index - 1];
    return previous == ";" || previous == "&" || previous == "|" || previous == "(" || previous == "{" ||
           previous == "`" || previous == "do" || previous == "then" || previous == "else" || previous == "if" ||
           previous == "elif" || previous == "while" || previous == "until" || previous == "sudo" ||
           previous == "command" || previous == "env" || previous == "exec" || previous == "xargs" ||
           previous == "nice" || previous == "time" || previous == "!";
}

bool is_separator(std::string_view word) noexcept {
    return word == ";" || word == "&" || word == "|" || word == "(" || word == ")" || word == "{" || word == "}" ||
           word == "`";
}

// Whether one option word of sed or perl turns on in-place editing: --in-place, or 'i' in a
// bundle of single-letter flags before a flag that takes the rest as its argument (sed -ne
// 's/i/j/' is not in place, sed -Ei is; perl -pi is, perl -Mstrict is not).
bool edits_in_place(std::string_view program, std::string_view option) noexcept {
    if (option.starts_with("--")) return option == "--in-place" || option.starts_with("--in-place=");
    if (!option.starts_with('-')) return false;
    const std::string_view takes_argument = program == "sed" ? "efl" : "eEMmIxCdD";
    for (const char flag : option.substr(1)) {
        if (flag == 'i') return true;
        if (takes_argument.find(flag) != std::string_view::npos) return false;
    }
    return false;
}

// The patch command on this line, if any: "patch", "git apply", "sed -i", ...
std::string patch_command(std::string_view line) {
    const auto words = shell_words(line);
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (!starts_command(words, i)) continue;
        // "/usr/bin/patch" and "'patch'" are patch too.
        auto word = words[i];
        while (!word.empty() && (word.front() == '"' || word.front() == '\'')) word.remove_prefix(1);
        while (!word.empty() && (word.back() == '"' || word.back() == '\'')) word.remove_suffix(1);
        if (const auto slash = word.rfind('/'); slash != std::string_view::npos) word.remove_prefix(slash + 1);
        if (word == "patch") return "patch";
        if (word == "git") {
            // Options of git itself (-C dir, -c key=value) may come before the subcommand.
            for (std::size_t j = i + 1; j < words.size(); ++j) {
                if (words[j] == "-C" || words[j] == "-c") {
                    ++j;
                    continue;
                }
                if (words[j].starts_with('-')) continue;
                if (words[j] == "apply" || words[j] == "am" || words[j] == "cherry-pick") {
                    return concat({"git ", words[j]});
                }
                break;
            }
        }
        if (word == "sed" || word == "perl") {
            // Options may follow arguments (GNU sed); the command ends at a separator.
            for (std::size_t j = i + 1; j < words.size() && !is_separator(words[j]); ++j) {
                if (edits_in_place(word, words[j])) return concat({word, " ", words[j]});
            }
        }
    }
    return {};
}

// A line of shell as bash reads it: physical lines ending in a backslash continue on the next.
struct LogicalLine {
    std::size_t number = 0;  // of its first physical line
    std::string text;
};

std::vector<LogicalLine> logical_lines(const std::vector<std::string_view>& lines) {
    std::vector<LogicalLine> out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        LogicalLine line{i + 1, std::string(lines[i])};
        while (!line.text.empty() && line.text.back() == '\\' && i + 1 < lines.size()) {
            line.text.pop_back();
            line.text += ' ';
            line.text += lines[++i];
        }
        out.push_back(std::move(line));
    }
    return out;
}

// Whether a line starts a package function: "package() {", "package_NAME ()", "function package {".
bool starts_package_function(std::string_view line) {
    line = trim(line);
    if (line.starts_with("function ")) line = trim(line.substr(9));
    if (!line.starts_with("package")) return false;
    std::size_t at = 7;
    if (at < line.size() && line[at] == '_') {
        ++at;
        while (at < line.size() && (std::isalnum(static_cast<unsigned char>(line[at])) != 0 || line[at] == '_' ||
                                    line[at] == '-' || line[at] == '.')) {
            ++at;
        }
    }
    const auto rest = trim(line.substr(at));
    return rest.starts_with("()") || rest.starts_with("(") || rest.starts_with("{");
}

// The logical lines inside package functions, whose `sed -i` edits installed files rather than
// upstream's sources. A function whose end cannot be found with confidence (unbalanced braces,
// a heredoc that could hold one) is not excluded: its lines are judged like any other.
std::vector<bool> package_function_lines(const std::vector<LogicalLine>& lines) {
    std::vector<bool> inside(lines.size(), false);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!starts_package_function(lines[i].text)) continue;
        int depth = 0;
        bool opened = false;
        bool unsure = false;
        std::optional<std::size_t> end;
        for (std::size_t j = i; j < lines.size() && !end && !unsure; ++j) {
            const auto& text = lines[j].text;
            if (text.find("<<") != std::string::npos) unsure = true;
            char quote = 0;
            for (std::size_t k = 0; k < text.size() && !end; ++k) {
                const char c = text[k];
                if (quote != 0) {
                    if (c == '\\' && quote == '"') {
                        ++k;
                    } else if (c == quote) {
                        quote = 0;
                    }
                    continue;
                }
                if (c == '#' && (k == 0 || text[k - 1] == ' ' || text[k - 1] == '\t')) break;
                if (c == '\'' || c == '"') quote = c;
                if (c == '\\') ++k;
                if (c == '{') {
                    ++depth;
                    opened = true;
                }
                if (c == '}' && opened && --depth == 0) end = j;
            }
            if (quote != 0) unsure = true;
        }
        // Without a certain end nothing after this point is let through (and no line is
        // searched twice, so hostile recipes cost linear time).
        if (!end || unsure) break;
        for (std::size_t j = i; j <= *end; ++j) inside[j] = true;
        i = *end;
    }
    return inside;
}

std::string_view without_comment(std::string_view line) {
    const auto trimmed = trim(line);
    if (trimmed.starts_with('#')) return {};
    for (std::size_t k = 1; k < line.size(); ++k) {
        if (line[k] == '#' && (line[k - 1] == ' ' || line[k - 1] == '\t')) return line.substr(0, k);
    }
    return line;
}

Result<std::vector<std::pair<std::size_t, std::string>>> srcinfo_sources(std::string_view srcinfo) {
    if (srcinfo.size() > kMaxRecipeBytes) return fail(ErrorCode::too_large, ".SRCINFO is larger than 1 MiB");
    std::vector<std::pair<std::size_t, std::string>> sources;
    const auto lines = lines_of(srcinfo);
    bool has_pkgbase = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto line = trim(lines[i]);
        if (line.empty() || line.starts_with('#')) continue;
        const auto separator = line.find(" = ");
        if (separator == std::string_view::npos) {
            return fail(ErrorCode::parse, concat({".SRCINFO line ", std::to_string(i + 1), " is not 'key = value'"}));
        }
        const auto key = line.substr(0, separator);
        if (key == "pkgbase") has_pkgbase = true;
        if (key == "source" || key.starts_with("source_")) {
            sources.emplace_back(i + 1, std::string(line.substr(separator + 3)));
        }
    }
    if (!has_pkgbase) return fail(ErrorCode::parse, ".SRCINFO has no pkgbase");
    return sources;
}

}  // namespace

std::string_view patch_verdict_name(PatchVerdict verdict) noexcept {
    switch (verdict) {
        case PatchVerdict::patchless: return "patchless";
        case PatchVerdict::patched: return "patched";
        case PatchVerdict::unknown: return "unknown";
    }
    return "unknown";
}

Result<PatchEvidence> assess_patches(std::string_view srcinfo, std::string_view pkgbuild,
                                     std::string_view pkgbuild_sha256_hex) {
    if (pkgbuild.size() > kMaxRecipeBytes) return fail(ErrorCode::too_large, "PKGBUILD is larger than 1 MiB");
    PatchEvidence evidence;
    evidence.pkgbuild_sha256 = hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, pkgbuild));
    if (!crypto::constant_time_equal(evidence.pkgbuild_sha256, pkgbuild_sha256_hex)) {
        return fail(ErrorCode::integrity,
                    concat({"the PKGBUILD (sha256 ", evidence.pkgbuild_sha256,
                            ") is not the one the package was built from (BUILDINFO: ", pkgbuild_sha256_hex, ")"}));
    }
    auto sources = srcinfo_sources(srcinfo);
    if (!sources) return fail(sources.error());
    for (const auto& [line, source] : *sources) {
        evidence.sources.push_back(source);
        if (names_patch_file(source)) {
            evidence.findings.push_back({".SRCINFO", line, "patch file in sources", source});
        }
    }

    // Every line of the PKGBUILD is judged, global scope, prepare(), build(), pkgver() and
    // helpers alike; only patch commands inside package functions are let through.
    const auto lines = logical_lines(lines_of(pkgbuild));
    const auto in_package = package_function_lines(lines);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto code = without_comment(lines[i].text);
        for (const auto word : shell_words(code)) {
            if (names_patch_file(word)) {
                evidence.findings.push_back(
                    {"PKGBUILD", lines[i].number, "names a patch file", std::string(trim(lines[i].text))});
                break;
            }
        }
        if (in_package[i]) continue;
        const auto command = patch_command(code);
        if (!command.empty()) {
            evidence.findings.push_back(
                {"PKGBUILD", lines[i].number, concat({"runs ", command}), std::string(trim(lines[i].text))});
        }
    }
    evidence.verdict = evidence.findings.empty() ? PatchVerdict::patchless : PatchVerdict::patched;
    return evidence;
}

}  // namespace bulkhead::curate
