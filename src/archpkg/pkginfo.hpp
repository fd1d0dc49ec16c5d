// .PKGINFO: what a package says about itself (name, version, relations), written by makepkg
// into every package. Read strictly: unknown keys, repeated single keys, malformed names,
// versions or relations are refused, so later checks never see a field they did not expect.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "archpkg/version.hpp"
#include "base/result.hpp"

namespace bulkhead::archpkg {

inline constexpr std::size_t kMaxPkginfoBytes = 1U << 20U;

struct PkgInfo {
    std::string name;
    std::string base;     // pkgbase; the name when the file has none
    std::string version;  // [epoch:]pkgver-pkgrel
    std::string description;
    std::string url;
    std::int64_t build_date = 0;
    std::string packager;
    std::uint64_t installed_size = 0;
    std::string arch;
    std::string package_type;  // from xdata pkgtype= (format 2): pkg, split, debug, src; empty in format 1
    std::vector<std::string> licenses;
    std::vector<std::string> groups;
    std::vector<std::string> backup;
    std::vector<Dependency> replaces;
    std::vector<Dependency> conflicts;
    std::vector<Dependency> provides;
    std::vector<Dependency> depends;
    std::vector<OptionalDependency> optional_depends;
    std::vector<Dependency> make_depends;
    std::vector<Dependency> check_depends;
};

Result<PkgInfo> parse_pkginfo(std::string_view text);

// An architecture name: ASCII letters, digits and '_' ("x86_64", "any"), at most 64 bytes.
Result<void> check_arch(std::string_view arch, std::string_view what);

}  // namespace bulkhead::archpkg
