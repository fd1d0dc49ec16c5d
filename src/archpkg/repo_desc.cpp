#include "archpkg/repo_desc.hpp"

#include <functional>
#include <map>
#include <tuple>

#include "archpkg/key_value.hpp"
#include "archpkg/mtree.hpp"
#include "archpkg/pkginfo.hpp"
#include "base/text.hpp"

namespace bulkhead::archpkg {
namespace {

constexpr std::size_t kMaxListEntries = 4096;
constexpr std::size_t kMaxFiles = 500000;

struct Section {
    std::string name;
    std::vector<std::string_view> values;
    std::size_t line = 0;
};

// Splits `%NAME%` blocks; every block has at least one value and ends at an empty line or at the
// end of the text, which must end in a newline.
Result<std::vector<Section>> split_sections(std::string_view text, std::string_view what, std::size_t max_values) {
    if (!text.empty() && text.back() != '\n') {
        return fail(ErrorCode::parse, concat({what, " does not end with a newline (truncated?)"}));
    }
    std::vector<Section> sections;
    bool in_section = false;
    std::size_t line_number = 0;
    for (std::size_t start = 0; start < text.size();) {
        const auto end = text.find('\n', start);
        const auto line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        const auto where = [&] { return concat({what, " line ", std::to_string(line_number)}); };
        if (!is_clean_text(line)) return fail(ErrorCode::parse, where() + " has control characters or bad UTF-8");
        if (line.empty()) {
            if (in_section && sections.back().values.empty()) {
                return fail(ErrorCode::parse, concat({what, " section %", sections.back().name, "% has no value"}));
            }
            in_section = false;
            continue;
        }
        if (!in_section) {
            if (line.size() < 3 || line.front() != '%' || line.back() != '%') {
                return fail(ErrorCode::parse, where() + " is not a %SECTION% header");
            }
            sections.push_back(Section{std::string(line.substr(1, line.size() - 2)), {}, line_number});
            in_section = true;
            continue;
        }
        if (sections.back().values.size() >= max_values) {
            return fail(ErrorCode::too_large, concat({what, " section %", sections.back().name, "% has more than ",
                                                      std::to_string(max_values), " values"}));
        }
        sections.back().values.push_back(line);
    }
    if (in_section && sections.back().values.empty()) {
        return fail(ErrorCode::parse, concat({what, " section %", sections.back().name, "% has no value"}));
    }
    return sections;
}

Result<std::string> single_value(const Section& section) {
    if (section.values.size() != 1) {
        return fail(ErrorCode::parse, concat({"desc section %", section.name, "% has ",
                                              std::to_string(section.values.size()), " values, not one"}));
    }
    return std::string(section.values.front());
}

Result<void> read_dependencies(const Section& section, std::vector<Dependency>& out) {
    out.reserve(section.values.size());
    for (const auto value : section.values) {
        auto dependency = parse_dependency(value);
        if (!dependency) {
            return fail(ErrorCode::parse, concat({"desc %", section.name, "%: ", dependency.error().message}));
        }
        out.push_back(std::move(dependency).value());
    }
    return {};
}

bool is_base64(std::string_view text) noexcept {
    if (text.empty() || text.size() % 4 != 0) return false;
    const auto padding = text.find('=');
    if (padding != std::string_view::npos &&
        (padding < text.size() - 2 || text.substr(padding).find_first_not_of('=') != std::string_view::npos)) {
        return false;
    }
    return text.substr(0, padding)
               .find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") ==
           std::string_view::npos;
}

}  // namespace

Result<RepoPackage> parse_desc(std::string_view text) {
    if (text.size() > kMaxDescBytes) return fail(ErrorCode::too_large, "desc is larger than 1 MiB");
    auto sections = split_sections(text, "desc", kMaxListEntries);
    if (!sections) return fail(sections.error());

    RepoPackage package;
    std::string compressed_size;
    std::string installed_size;
    std::string sha256;
    std::string md5;
    std::string build_date;
    const std::map<std::string_view, std::string*, std::less<>> singles = {
        {"FILENAME", &package.file_name},   {"NAME", &package.name},         {"BASE", &package.base},
        {"VERSION", &package.version},      {"DESC", &package.description},  {"CSIZE", &compressed_size},
        {"ISIZE", &installed_size},         {"SHA256SUM", &sha256},          {"MD5SUM", &md5},
        {"PGPSIG", &package.pgp_signature}, {"URL", &package.url},           {"ARCH", &package.arch},
        {"BUILDDATE", &build_date},         {"PACKAGER", &package.packager},
    };
    const std::map<std::string_view, std::vector<Dependency>*, std::less<>> dependency_lists = {
        {"REPLACES", &package.replaces},        {"CONFLICTS", &package.conflicts},
        {"PROVIDES", &package.provides},        {"DEPENDS", &package.depends},
        {"MAKEDEPENDS", &package.make_depends}, {"CHECKDEPENDS", &package.check_depends},
    };
    std::map<std::string, std::size_t, std::less<>> seen;
    for (const auto& section : *sections) {
        if (!seen.emplace(section.name, section.line).second) {
            return fail(ErrorCode::parse, concat({"desc has section %", section.name, "% twice"}));
        }
        if (const auto field = singles.find(section.name); field != singles.end()) {
            auto value = single_value(section);
            if (!value) return fail(value.error());
            *field->second = std::move(value).value();
        } else if (const auto list = dependency_lists.find(section.name); list != dependency_lists.end()) {
            if (auto read = read_dependencies(section, *list->second); !read) return fail(read.error());
        } else if (section.name == "OPTDEPENDS") {
            package.optional_depends.reserve(section.values.size());
            for (const auto value : section.values) {
                auto optional = parse_optional_dependency(value);
                if (!optional) return fail(ErrorCode::parse, "desc %OPTDEPENDS%: " + optional.error().message);
                package.optional_depends.push_back(std::move(optional).value());
            }
        } else if (section.name == "GROUPS" || section.name == "LICENSE") {
            auto& texts = section.name == "GROUPS" ? package.groups : package.licenses;
            texts.assign(section.values.begin(), section.values.end());
        } else {
            return fail(ErrorCode::parse, concat({"desc has an unknown section %", valid_utf8(section.name), "%"}));
        }
    }
    for (const std::string_view required :
         {"FILENAME", "NAME", "VERSION", "CSIZE", "ISIZE", "SHA256SUM", "ARCH", "BUILDDATE"}) {
        if (!seen.contains(required)) return fail(ErrorCode::parse, concat({"desc has no %", required, "%"}));
    }
    if (auto checked = check_package_name(package.name); !checked) {
        return fail(ErrorCode::parse, "desc %NAME%: " + checked.error().message);
    }
    if (package.base.empty()) {
        package.base = package.name;
    } else if (auto checked = check_package_name(package.base); !checked) {
        return fail(ErrorCode::parse, "desc %BASE%: " + checked.error().message);
    }
    if (auto checked = check_full_version(package.version); !checked) {
        return fail(ErrorCode::parse, "desc %VERSION%: " + checked.error().message);
    }
    if (auto checked = check_arch(package.arch, "desc %ARCH%"); !checked) return fail(checked.error());
    // The file name is used to build paths and URLs: one plain name, and the package's own.
    const auto expected_prefix = concat({package.name, "-", package.version, "-", package.arch, ".pkg.tar"});
    if (!package.file_name.starts_with(expected_prefix) || package.file_name.find('/') != std::string::npos) {
        return fail(ErrorCode::parse, concat({"desc %FILENAME% '", valid_utf8(package.file_name), "' is not ",
                                              expected_prefix, "[.EXT]"}));
    }
    const auto extension = std::string_view(package.file_name).substr(expected_prefix.size());
    if (!extension.empty() && extension != ".zst" && extension != ".xz" && extension != ".gz") {
        return fail(ErrorCode::unsupported, concat({"desc %FILENAME% '", valid_utf8(package.file_name),
                                                    "' has a compression other than zst, xz or gz"}));
    }
    constexpr std::size_t kSha256HexDigits = 64;
    if (sha256.size() != kSha256HexDigits || sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return fail(ErrorCode::parse, "desc %SHA256SUM% is not 64 lower-case hex digits");
    }
    package.sha256 = hex_decode(sha256).value();
    constexpr std::size_t kMd5HexDigits = 32;
    if (seen.contains("MD5SUM")) {
        if (md5.size() != kMd5HexDigits || md5.find_first_not_of("0123456789abcdef") != std::string::npos) {
            return fail(ErrorCode::parse, "desc %MD5SUM% is not 32 lower-case hex digits");
        }
        package.has_md5 = true;
    }
    if (seen.contains("PGPSIG")) {
        auto signature = is_base64(package.pgp_signature) ? base64_decode(package.pgp_signature)
                                                          : Result<std::string>(fail(ErrorCode::parse, ""));
        if (!signature || signature->size() > kMaxSignatureBytes) {
            return fail(ErrorCode::parse, "desc %PGPSIG% is not base64 of at most 16 KiB");
        }
        package.pgp_signature = std::move(signature).value();
    }
    for (const auto& [text_value, target, what] :
         {std::tuple{&compressed_size, &package.compressed_size, "desc %CSIZE%"},
          std::tuple{&installed_size, &package.installed_size, "desc %ISIZE%"}}) {
        auto number = parse_decimal(*text_value, what);
        if (!number) return fail(number.error());
        *target = *number;
    }
    auto date = parse_decimal(build_date, "desc %BUILDDATE%");
    if (!date) return fail(date.error());
    package.build_date = static_cast<std::int64_t>(*date);
    return package;
}

Result<std::vector<std::string>> parse_files_list(std::string_view text) {
    if (text.size() > kMaxFilesListBytes) return fail(ErrorCode::too_large, "files list is larger than 64 MiB");
    auto sections = split_sections(text, "files", kMaxFiles);
    if (!sections) return fail(sections.error());
    std::vector<std::string> files;
    if (sections->empty()) return files;
    if (sections->size() != 1 || sections->front().name != "FILES") {
        return fail(ErrorCode::parse, "files entry has a section other than one %FILES%");
    }
    files.reserve(sections->front().values.size());
    for (const auto value : sections->front().values) {
        auto path = normalise_path(value, "files");
        if (!path) return fail(path.error());
        if (value.starts_with("./")) return fail(ErrorCode::parse, "files entry path starts with './'");
        files.emplace_back(value);
    }
    return files;
}

}  // namespace bulkhead::archpkg
