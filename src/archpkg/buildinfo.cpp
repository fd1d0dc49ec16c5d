#include "archpkg/buildinfo.hpp"

#include <functional>
#include <map>

#include "archpkg/key_value.hpp"
#include "archpkg/pkginfo.hpp"
#include "archpkg/version.hpp"
#include "base/text.hpp"

namespace bulkhead::archpkg {
namespace {

constexpr std::size_t kMaxInstalled = 65536;
constexpr std::size_t kMaxFlags = 4096;

bool is_lower_hex(std::string_view text) noexcept {
    return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

Result<InstalledPackage> parse_installed_package(std::string_view text) {
    const auto refuse = [&](std::string_view why) {
        return fail(ErrorCode::parse, concat({".BUILDINFO installed '", valid_utf8(text), "' ", why}));
    };
    const auto arch_dash = text.rfind('-');
    if (arch_dash == std::string_view::npos || arch_dash == 0) return refuse("is not name-pkgver-pkgrel-arch");
    const auto rel_dash = text.rfind('-', arch_dash - 1);
    if (rel_dash == std::string_view::npos || rel_dash == 0) return refuse("is not name-pkgver-pkgrel-arch");
    const auto ver_dash = text.rfind('-', rel_dash - 1);
    if (ver_dash == std::string_view::npos) return refuse("is not name-pkgver-pkgrel-arch");
    InstalledPackage package{std::string(text.substr(0, ver_dash)),
                             std::string(text.substr(ver_dash + 1, arch_dash - ver_dash - 1)),
                             std::string(text.substr(arch_dash + 1))};
    if (auto checked = check_package_name(package.name); !checked) return refuse(": " + checked.error().message);
    if (auto checked = check_full_version(package.version); !checked) return refuse(": " + checked.error().message);
    if (auto checked = check_arch(package.arch, ".BUILDINFO installed"); !checked) return fail(checked.error());
    return package;
}

Result<BuildInfo> parse_buildinfo(std::string_view text) {
    auto entries = parse_key_value_lines(text, ".BUILDINFO", kMaxBuildinfoBytes);
    if (!entries) return fail(entries.error());

    BuildInfo info;
    std::string format_text;
    std::string build_date_text;
    const std::map<std::string_view, std::string*, std::less<>> single = {
        {"format", &format_text},      {"pkgname", &info.name},         {"pkgbase", &info.base},
        {"pkgver", &info.version},     {"pkgarch", &info.arch},         {"pkgbuild_sha256sum", &info.pkgbuild_sha256},
        {"packager", &info.packager},  {"builddate", &build_date_text}, {"builddir", &info.build_dir},
        {"startdir", &info.start_dir}, {"buildtool", &info.build_tool}, {"buildtoolver", &info.build_tool_version},
    };
    std::map<std::string, std::size_t, std::less<>> seen;
    for (const auto& entry : *entries) {
        const auto line = std::to_string(entry.line);
        if (const auto field = single.find(entry.key); field != single.end()) {
            if (!seen.emplace(entry.key, entry.line).second) {
                return fail(ErrorCode::parse, concat({".BUILDINFO line ", line, " repeats '", entry.key, "'"}));
            }
            *field->second = entry.value;
        } else if (entry.key == "buildenv" || entry.key == "options") {
            auto& list = entry.key == "buildenv" ? info.build_env : info.options;
            if (list.size() >= kMaxFlags) {
                return fail(ErrorCode::too_large, concat({".BUILDINFO has more than 4096 '", entry.key, "' entries"}));
            }
            list.push_back(entry.value);
        } else if (entry.key == "installed") {
            if (info.installed.size() >= kMaxInstalled) {
                return fail(ErrorCode::too_large, ".BUILDINFO has more than 65536 'installed' entries");
            }
            auto installed = parse_installed_package(entry.value);
            if (!installed) {
                return fail(ErrorCode::parse, concat({".BUILDINFO line ", line, ": ", installed.error().message}));
            }
            info.installed.push_back(std::move(installed).value());
        } else {
            return fail(ErrorCode::parse, concat({".BUILDINFO line ", line, " has an unknown key '", entry.key, "'"}));
        }
    }

    if (format_text == "1") {
        info.format = 1;
    } else if (format_text == "2") {
        info.format = 2;
    } else if (!seen.contains("format")) {
        return fail(ErrorCode::parse, ".BUILDINFO has no 'format'");
    } else {
        return fail(ErrorCode::unsupported, concat({".BUILDINFO format '", format_text, "' is not 1 or 2"}));
    }
    std::vector<std::string_view> required = {"pkgname",  "pkgbase",   "pkgver",  "pkgarch", "pkgbuild_sha256sum",
                                              "packager", "builddate", "builddir"};
    if (info.format == 2) {
        required.insert(required.end(), {"startdir", "buildtool", "buildtoolver"});
    } else {
        for (const std::string_view only_in_2 : {"startdir", "buildtool", "buildtoolver"}) {
            if (seen.contains(only_in_2)) {
                return fail(ErrorCode::parse, concat({".BUILDINFO format 1 has '", only_in_2, "' (format 2 only)"}));
            }
        }
    }
    for (const auto key : required) {
        if (!seen.contains(key)) {
            return fail(ErrorCode::parse, concat({".BUILDINFO format ", format_text, " has no '", key, "'"}));
        }
    }
    if (auto checked = check_package_name(info.name); !checked) {
        return fail(ErrorCode::parse, ".BUILDINFO pkgname: " + checked.error().message);
    }
    if (auto checked = check_package_name(info.base); !checked) {
        return fail(ErrorCode::parse, ".BUILDINFO pkgbase: " + checked.error().message);
    }
    if (auto checked = check_full_version(info.version); !checked) {
        return fail(ErrorCode::parse, ".BUILDINFO pkgver: " + checked.error().message);
    }
    if (auto checked = check_arch(info.arch, ".BUILDINFO pkgarch"); !checked) return fail(checked.error());
    constexpr std::size_t kSha256HexDigits = 64;
    if (info.pkgbuild_sha256.size() != kSha256HexDigits || !is_lower_hex(info.pkgbuild_sha256)) {
        return fail(ErrorCode::parse, ".BUILDINFO pkgbuild_sha256sum is not 64 lower-case hex digits");
    }
    auto date = parse_decimal(build_date_text, ".BUILDINFO builddate");
    if (!date) return fail(date.error());
    info.build_date = static_cast<std::int64_t>(*date);
    return info;
}

}  // namespace bulkhead::archpkg
