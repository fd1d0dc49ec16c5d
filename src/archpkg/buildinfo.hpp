// .BUILDINFO: how a package was built (the exact PKGBUILD by its sha256, the build environment
// and every installed package), which is what an independent rebuilder needs to reproduce it
// bit for bit. Formats 1 and 2; format 2 adds startdir, buildtool and buildtoolver.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::archpkg {

inline constexpr std::size_t kMaxBuildinfoBytes = 1U << 20U;

// One `installed` entry, "name-pkgver-pkgrel-arch" split from the right.
struct InstalledPackage {
    std::string name;
    std::string version;  // [epoch:]pkgver-pkgrel
    std::string arch;

    friend bool operator==(const InstalledPackage&, const InstalledPackage&) = default;
};

Result<InstalledPackage> parse_installed_package(std::string_view text);

struct BuildInfo {
    int format = 0;  // 1 or 2
    std::string name;
    std::string base;
    std::string version;
    std::string arch;
    std::string pkgbuild_sha256;  // 64 lower-case hex digits
    std::string packager;
    std::int64_t build_date = 0;
    std::string build_dir;
    std::string start_dir;           // format 2
    std::string build_tool;          // format 2
    std::string build_tool_version;  // format 2
    std::vector<std::string> build_env;
    std::vector<std::string> options;
    std::vector<InstalledPackage> installed;
};

Result<BuildInfo> parse_buildinfo(std::string_view text);

}  // namespace bulkhead::archpkg
