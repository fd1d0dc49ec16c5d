// Arch Linux package names, versions and dependency strings, with pacman's ordering of versions
// (`vercmp`): the curator resolves closures with it and the client picks "the newest version"
// with it, so it must agree with pacman exactly; tests check it against Debian's vercmp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::archpkg {

// pacman's version order of two `[epoch:]version[-release]` strings: -1, 0 or 1. Any strings
// compare (pacman accepts whatever a database holds); the release takes part only when both
// sides have one, so "1.0" matches every "1.0-N" in a dependency.
int compare_versions(std::string_view left, std::string_view right) noexcept;

// Sorts versions oldest first by pacman's order. pacman's order is not transitive for some odd
// versions ("1." < "1..1" < "1...a" < "1."), which std::sort must not be given; this sort only
// swaps neighbours, so it always ends. Versions that compare equal keep text order.
void sort_versions(std::vector<std::string>& versions);

// A package or dependency name as makepkg allows it: ASCII letters, digits and `@._+-`, not
// starting with `-` or `.`, at most 255 bytes.
Result<void> check_package_name(std::string_view name);

// A package's full version `[epoch:]pkgver-pkgrel` as makepkg writes it: epoch digits, pkgver of
// printable ASCII without `:`, `/`, `-` or spaces, pkgrel `N` or `N.M`, at most 255 bytes.
Result<void> check_full_version(std::string_view version);

enum class Relation { any, less, less_equal, equal, greater_equal, greater };

// "<", "<=", "=", ">=", ">", or "" for any.
std::string_view relation_symbol(Relation relation) noexcept;

// `name`, or `name` followed by a relation and a version (a dependency may leave out the
// release or the epoch, so the version is checked only for its characters).
struct Dependency {
    std::string name;
    Relation relation = Relation::any;
    std::string version;

    friend bool operator==(const Dependency&, const Dependency&) = default;
};

// "glibc>=2.38", "sh", "libfoo.so=1-64": strict, no spaces around the relation.
Result<Dependency> parse_dependency(std::string_view text);

// The text form parse_dependency reads.
std::string format_dependency(const Dependency& dependency);

// An optional dependency "name[relation version][: description]".
struct OptionalDependency {
    Dependency dependency;
    std::string description;
};
Result<OptionalDependency> parse_optional_dependency(std::string_view text);

// Whether `version` (a package's or a versioned provision's) meets the dependency's relation.
bool version_satisfies(std::string_view version, const Dependency& dependency) noexcept;

// Whether a package named `name` at `version` that provides `provides` (dependency strings,
// "name" or "name=version") satisfies `dependency`, following pacman: a provision without a
// version satisfies only dependencies without one.
bool satisfies(std::string_view name, std::string_view version, const std::vector<Dependency>& provides,
               const Dependency& dependency) noexcept;

}  // namespace bulkhead::archpkg
