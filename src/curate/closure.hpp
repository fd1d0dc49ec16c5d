// An app's dependency closure in a snapshot of Arch repositories: every package its runtime
// dependencies (`depends`, transitively) need, chosen the way pacman would, but without asking:
// a literal name beats a provision, repositories count in the order given, and a dependency
// that several packages provide must be settled by the curator's list of preferred providers.
// The closure is what gets published and installed as one app version, so it must be
// deterministic and complete, and must not hold two packages of one name or a conflict.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "archpkg/repo_db.hpp"
#include "base/result.hpp"

namespace bulkhead::curate {

struct Repository {
    std::string name;  // "core", "extra", ...
    const archpkg::RepoDatabase* database = nullptr;
};

struct ClosureOptions {
    // Packages to choose when a dependency has several providers and none is already chosen.
    std::vector<std::string> preferred_providers;
    std::size_t max_packages = 5000;
};

struct ClosureMember {
    std::string repository;
    const archpkg::RepoPackage* package = nullptr;
    // Why it is in the closure: "demo-app: demo-lib>=1.0"; empty for the app itself.
    std::vector<std::string> required_by;
};

// The closure of `app` (a package name), sorted by package name; the app's own entry has no
// required_by. The databases must outlive the result.
Result<std::vector<ClosureMember>> resolve_closure(const std::vector<Repository>& repositories, std::string_view app,
                                                   const ClosureOptions& options = {});

}  // namespace bulkhead::curate
