#include "archpkg/pkginfo.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "archpkg/key_value.hpp"
#include "base/text.hpp"

namespace bulkhead::archpkg {
namespace {

constexpr std::size_t kMaxListEntries = 4096;

Result<void> append_dependency(std::vector<Dependency>& list, const KeyValue& entry) {
    if (list.size() >= kMaxListEntries) {
        return fail(ErrorCode::too_large, concat({".PKGINFO has more than 4096 '", entry.key, "' entries"}));
    }
    auto dependency = parse_dependency(entry.value);
    if (!dependency) {
        return fail(ErrorCode::parse, concat({".PKGINFO line ", std::to_string(entry.line), " (", entry.key,
                                              "): ", dependency.error().message}));
    }
    list.push_back(std::move(dependency).value());
    return {};
}

Result<void> append_text(std::vector<std::string>& list, const KeyValue& entry) {
    if (list.size() >= kMaxListEntries) {
        return fail(ErrorCode::too_large, concat({".PKGINFO has more than 4096 '", entry.key, "' entries"}));
    }
    if (entry.value.empty()) {
        return fail(ErrorCode::parse,
                    concat({".PKGINFO line ", std::to_string(entry.line), " has an empty ", entry.key}));
    }
    list.push_back(entry.value);
    return {};
}

}  // namespace

Result<void> check_arch(std::string_view arch, std::string_view what) {
    constexpr std::size_t kMaxArchBytes = 64;
    const bool valid =
        !arch.empty() && arch.size() <= kMaxArchBytes && std::all_of(arch.begin(), arch.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        });
    if (!valid) return fail(ErrorCode::parse, concat({what, " has an invalid architecture '", valid_utf8(arch), "'"}));
    return {};
}

Result<PkgInfo> parse_pkginfo(std::string_view text) {
    auto entries = parse_key_value_lines(text, ".PKGINFO", kMaxPkginfoBytes);
    if (!entries) return fail(entries.error());

    PkgInfo info;
    std::map<std::string, std::size_t, std::less<>> seen_single;
    bool has_build_date = false;
    bool has_size = false;
    const std::map<std::string_view, std::string*, std::less<>> single_text = {
        {"pkgname", &info.name},        {"pkgbase", &info.base}, {"pkgver", &info.version},
        {"pkgdesc", &info.description}, {"url", &info.url},      {"packager", &info.packager},
        {"arch", &info.arch},
    };
    const std::map<std::string_view, std::vector<Dependency>*, std::less<>> dependency_lists = {
        {"replaces", &info.replaces}, {"conflict", &info.conflicts},      {"provides", &info.provides},
        {"depend", &info.depends},    {"makedepend", &info.make_depends}, {"checkdepend", &info.check_depends},
    };
    const std::map<std::string_view, std::vector<std::string>*, std::less<>> text_lists = {
        {"license", &info.licenses}, {"group", &info.groups}, {"backup", &info.backup}};

    for (const auto& entry : *entries) {
        const auto line = std::to_string(entry.line);
        const bool single = single_text.contains(entry.key) || entry.key == "builddate" || entry.key == "size";
        if (single && !seen_single.emplace(entry.key, entry.line).second) {
            return fail(ErrorCode::parse, concat({".PKGINFO line ", line, " repeats '", entry.key, "'"}));
        }
        if (const auto field = single_text.find(entry.key); field != single_text.end()) {
            *field->second = entry.value;
        } else if (entry.key == "builddate") {
            auto date = parse_decimal(entry.value, ".PKGINFO builddate");
            if (!date) return fail(date.error());
            info.build_date = static_cast<std::int64_t>(*date);
            has_build_date = true;
        } else if (entry.key == "size") {
            auto size = parse_decimal(entry.value, ".PKGINFO size");
            if (!size) return fail(size.error());
            info.installed_size = *size;
            has_size = true;
        } else if (const auto list = dependency_lists.find(entry.key); list != dependency_lists.end()) {
            if (auto added = append_dependency(*list->second, entry); !added) return fail(added.error());
        } else if (const auto texts = text_lists.find(entry.key); texts != text_lists.end()) {
            if (auto added = append_text(*texts->second, entry); !added) return fail(added.error());
        } else if (entry.key == "optdepend") {
            if (info.optional_depends.size() >= kMaxListEntries) {
                return fail(ErrorCode::too_large, ".PKGINFO has more than 4096 'optdepend' entries");
            }
            auto optional = parse_optional_dependency(entry.value);
            if (!optional) {
                return fail(ErrorCode::parse,
                            concat({".PKGINFO line ", line, " (optdepend): ", optional.error().message}));
            }
            info.optional_depends.push_back(std::move(optional).value());
        } else if (entry.key == "xdata") {
            // Format 2 carries pkgtype here; no other extended data is defined.
            constexpr std::string_view kPrefix = "pkgtype=";
            if (!entry.value.starts_with(kPrefix) || !info.package_type.empty()) {
                return fail(ErrorCode::parse, concat({".PKGINFO line ", line,
                                                      " has xdata other than one 'pkgtype=...': '", entry.value, "'"}));
            }
            info.package_type = entry.value.substr(kPrefix.size());
            if (info.package_type != "pkg" && info.package_type != "split" && info.package_type != "debug" &&
                info.package_type != "src") {
                return fail(ErrorCode::parse,
                            concat({".PKGINFO line ", line, " has an unknown pkgtype '", info.package_type, "'"}));
            }
        } else {
            return fail(ErrorCode::parse, concat({".PKGINFO line ", line, " has an unknown key '", entry.key, "'"}));
        }
    }

    for (const std::string_view required : {"pkgname", "pkgver", "arch"}) {
        if (!seen_single.contains(required)) {
            return fail(ErrorCode::parse, concat({".PKGINFO has no '", required, "'"}));
        }
    }
    if (!has_build_date) return fail(ErrorCode::parse, ".PKGINFO has no 'builddate'");
    if (!has_size) return fail(ErrorCode::parse, ".PKGINFO has no 'size'");
    if (auto checked = check_package_name(info.name); !checked) {
        return fail(ErrorCode::parse, ".PKGINFO pkgname: " + checked.error().message);
    }
    if (info.base.empty()) {
        info.base = info.name;
    } else if (auto checked = check_package_name(info.base); !checked) {
        return fail(ErrorCode::parse, ".PKGINFO pkgbase: " + checked.error().message);
    }
    if (auto checked = check_full_version(info.version); !checked) {
        return fail(ErrorCode::parse, ".PKGINFO pkgver: " + checked.error().message);
    }
    if (auto checked = check_arch(info.arch, ".PKGINFO"); !checked) return fail(checked.error());
    for (const auto& provision : info.provides) {
        // pacman only honours versioned provisions of the form name=version.
        if (provision.relation != Relation::any && provision.relation != Relation::equal) {
            return fail(ErrorCode::parse, concat({".PKGINFO provides '", format_dependency(provision),
                                                  "' uses a relation other than '='"}));
        }
    }
    return info;
}

}  // namespace bulkhead::archpkg
