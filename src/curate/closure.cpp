#include "curate/closure.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "base/text.hpp"

namespace bulkhead::curate {
namespace {

using archpkg::Dependency;
using archpkg::RepoPackage;

struct Candidate {
    const Repository* repository = nullptr;
    const RepoPackage* package = nullptr;
};

bool package_satisfies(const RepoPackage& package, const Dependency& dependency) {
    return archpkg::satisfies(package.name, package.version, package.provides, dependency);
}

class Resolver {
public:
    Resolver(const std::vector<Repository>& repositories, const ClosureOptions& options)
        : repositories_(repositories), options_(options) {
        // Provisions by name, once, in repository order: no dependency scans every package.
        for (const auto& repository : repositories_) {
            for (const auto& package : repository.database->packages) {
                for (const auto& provision : package.provides) {
                    providers_.emplace(provision.name, Candidate{&repository, &package});
                }
            }
        }
    }

    Result<std::vector<ClosureMember>> run(std::string_view app) {
        const auto root = find_by_name(app);
        if (!root.package) {
            return fail(ErrorCode::not_found, concat({"no repository has a package named '", valid_utf8(app), "'"}));
        }
        if (auto added = add(root, ""); !added) return fail(added.error());
        while (!pending_.empty()) {
            const auto name = pending_.front();
            pending_.pop_front();
            const auto& member = chosen_.at(name);
            for (const auto& dependency : member.package->depends) {
                if (auto settled = settle(*member.package, dependency); !settled) return fail(settled.error());
            }
        }
        if (auto checked = check_conflicts(); !checked) return fail(checked.error());
        std::vector<ClosureMember> closure;
        closure.reserve(chosen_.size());
        for (auto& [name, member] : chosen_) closure.push_back(std::move(member));
        return closure;
    }

private:
    // The first repository's package of exactly this name.
    [[nodiscard]] Candidate find_by_name(std::string_view name) const {
        for (const auto& repository : repositories_) {
            if (const auto* package = archpkg::find_package(*repository.database, name)) {
                return {&repository, package};
            }
        }
        return {};
    }

    Result<void> add(const Candidate& candidate, const std::string& reason) {
        const auto& name = candidate.package->name;
        if (chosen_.size() >= options_.max_packages) {
            return fail(ErrorCode::too_large,
                        concat({"the closure has more than ", std::to_string(options_.max_packages), " packages"}));
        }
        ClosureMember member{candidate.repository->name, candidate.package, {}};
        if (!reason.empty()) member.required_by.push_back(reason);
        chosen_.emplace(name, std::move(member));
        pending_.push_back(name);
        return {};
    }

    Result<void> settle(const RepoPackage& dependent, const Dependency& dependency) {
        const auto text = archpkg::format_dependency(dependency);
        const auto reason = concat({dependent.name, ": ", text});
        // Already in the closure: the literal name first, then any provider.
        if (const auto found = chosen_.find(dependency.name); found != chosen_.end()) {
            if (package_satisfies(*found->second.package, dependency)) {
                found->second.required_by.push_back(reason);
                return {};
            }
        }
        const auto [first, last] = providers_.equal_range(dependency.name);
        for (auto provider = first; provider != last; ++provider) {
            const auto chosen = chosen_.find(provider->second.package->name);
            if (chosen != chosen_.end() && chosen->second.package == provider->second.package &&
                package_satisfies(*chosen->second.package, dependency)) {
                chosen->second.required_by.push_back(reason);
                return {};
            }
        }
        // A package of that name, in repository order.
        for (const auto& repository : repositories_) {
            const auto* package = archpkg::find_package(*repository.database, dependency.name);
            if (package != nullptr && archpkg::version_satisfies(package->version, dependency)) {
                return add_checked({&repository, package}, reason);
            }
        }
        // Providers, which the curator must choose between when there are several.
        std::vector<Candidate> providers;
        std::set<const RepoPackage*> listed;  // a package may provide one name more than once
        for (auto provider = first; provider != last; ++provider) {
            const auto& candidate = provider->second;
            if (package_satisfies(*candidate.package, dependency) && listed.insert(candidate.package).second) {
                providers.push_back(candidate);
            }
        }
        if (providers.empty()) {
            return fail(ErrorCode::not_found, concat({"nothing in the repositories satisfies '", text, "', which ",
                                                      dependent.name, " depends on"}));
        }
        if (providers.size() > 1) {
            std::vector<Candidate> preferred;
            for (const auto& provider : providers) {
                if (std::find(options_.preferred_providers.begin(), options_.preferred_providers.end(),
                              provider.package->name) != options_.preferred_providers.end()) {
                    preferred.push_back(provider);
                }
            }
            if (preferred.size() != 1) {
                std::string names;
                for (const auto& provider : providers) {
                    names +=
                        concat({names.empty() ? "" : ", ", provider.repository->name, "/", provider.package->name});
                }
                return fail(ErrorCode::invalid_argument,
                            concat({"'", text, "' (needed by ", dependent.name, ") is provided by ", names,
                                    preferred.empty() ? "; name exactly one of them as a preferred provider"
                                                      : "; more than one of them is preferred"}));
            }
            providers = std::move(preferred);
        }
        return add_checked(providers.front(), reason);
    }

    // A second package of a name already in the closure would replace the first on install.
    Result<void> add_checked(const Candidate& candidate, const std::string& reason) {
        if (const auto found = chosen_.find(candidate.package->name); found != chosen_.end()) {
            return fail(ErrorCode::invalid_argument,
                        concat({reason, " needs ", candidate.repository->name, "/", candidate.package->name, " ",
                                candidate.package->version, ", but the closure already has ", found->second.repository,
                                "/", found->first, " ", found->second.package->version}));
        }
        return add(candidate, reason);
    }

    [[nodiscard]] Result<void> check_conflicts() const {
        for (const auto& [name, member] : chosen_) {
            for (const auto& conflict : member.package->conflicts) {
                for (const auto& [other_name, other] : chosen_) {
                    // A package may conflict with what it provides itself (replacing an older name).
                    if (other_name == name || !package_satisfies(*other.package, conflict)) continue;
                    return fail(ErrorCode::invalid_argument,
                                concat({name, " conflicts with '", archpkg::format_dependency(conflict), "', which ",
                                        other_name, " ", other.package->version, " in the closure satisfies"}));
                }
            }
        }
        return {};
    }

    const std::vector<Repository>& repositories_;
    const ClosureOptions& options_;
    std::map<std::string, ClosureMember, std::less<>> chosen_;
    std::multimap<std::string, Candidate, std::less<>> providers_;
    std::deque<std::string> pending_;
};

}  // namespace

Result<std::vector<ClosureMember>> resolve_closure(const std::vector<Repository>& repositories, std::string_view app,
                                                   const ClosureOptions& options) {
    for (const auto& repository : repositories) {
        if (repository.database == nullptr) return fail(ErrorCode::invalid_argument, "a repository has no database");
    }
    Resolver resolver(repositories, options);
    return resolver.run(app);
}

}  // namespace bulkhead::curate
