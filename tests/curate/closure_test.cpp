// Dependency closures: chosen as pacman would (literal names first, repositories in order,
// version relations, provisions), refused when incomplete, ambiguous, conflicting or holding
// one name twice. The last test resolves a database that repo-add made from makepkg packages.
#include "curate/closure.hpp"

#include <gtest/gtest.h>

#include "archpkg/sample_packages.hpp"

namespace bulkhead::curate {
namespace {

using archpkg::RepoDatabase;
using archpkg::RepoPackage;

std::vector<archpkg::Dependency> dependencies(const std::vector<std::string>& texts) {
    std::vector<archpkg::Dependency> out;
    out.reserve(texts.size());
    for (const auto& text : texts) out.push_back(archpkg::parse_dependency(text).value());
    return out;
}

struct Spec {
    std::string name;
    std::string version;
    std::vector<std::string> depends;
    std::vector<std::string> provides;
    std::vector<std::string> conflicts;
};

RepoDatabase database(const std::vector<Spec>& specs) {
    RepoDatabase db;
    db.packages.reserve(specs.size());
    for (const auto& spec : specs) {
        RepoPackage package;
        package.name = spec.name;
        package.version = spec.version;
        package.depends = dependencies(spec.depends);
        package.provides = dependencies(spec.provides);
        package.conflicts = dependencies(spec.conflicts);
        db.packages.push_back(std::move(package));
    }
    std::sort(db.packages.begin(), db.packages.end(),
              [](const RepoPackage& a, const RepoPackage& b) { return a.name < b.name; });
    return db;
}

std::vector<std::string> names(const std::vector<ClosureMember>& closure) {
    std::vector<std::string> out;
    out.reserve(closure.size());
    for (const auto& member : closure) out.push_back(member.repository + "/" + member.package->name);
    return out;
}

void expect_refused(const Result<std::vector<ClosureMember>>& result, const std::string& message_part) {
    ASSERT_FALSE(result) << "resolved a closure that should be refused (" << message_part << ")";
    EXPECT_NE(result.error().message.find(message_part), std::string::npos) << result.error().message;
}

TEST(Closure, FollowsDependenciesTransitivelyWithVersionsAndProvisions) {
    const auto core = database({{"glibc", "2.39-1", {}, {"libc.so=6-64"}, {}},
                                {"bash", "5.2-1", {"glibc", "readline>=8"}, {"sh"}, {}},
                                {"readline", "8.2-1", {"glibc"}, {"libreadline.so=8-64"}, {}}});
    const auto extra = database({{"app", "1.0-1", {"lib>=2", "sh", "libc.so=6-64"}, {}, {}},
                                 {"lib", "2.1-1", {"glibc>=2.38"}, {}, {}},
                                 {"unrelated", "1-1", {}, {}, {}}});
    auto closure = resolve_closure({{"core", &core}, {"extra", &extra}}, "app");
    ASSERT_TRUE(closure) << closure.error().message;
    EXPECT_EQ(names(*closure),
              (std::vector<std::string>{"extra/app", "core/bash", "core/glibc", "extra/lib", "core/readline"}));
    EXPECT_TRUE(closure->front().required_by.empty());
    const auto& glibc = (*closure)[2];
    EXPECT_EQ(glibc.required_by,
              (std::vector<std::string>{"app: libc.so=6-64", "lib: glibc>=2.38", "bash: glibc", "readline: glibc"}));
    EXPECT_EQ((*closure)[1].required_by, (std::vector<std::string>{"app: sh"}));
}

TEST(Closure, PrefersTheFirstRepositoryAndLiteralNames) {
    const auto testing = database({{"lib", "3.0-1", {}, {}, {}}});
    const auto extra =
        database({{"app", "1-1", {"lib"}, {}, {}}, {"lib", "2.0-1", {}, {}, {}}, {"lib-ng", "9-1", {}, {"lib=9"}, {}}});
    auto closure = resolve_closure({{"testing", &testing}, {"extra", &extra}}, "app");
    ASSERT_TRUE(closure) << closure.error().message;
    EXPECT_EQ(names(*closure), (std::vector<std::string>{"extra/app", "testing/lib"}));
    // A literal package whose version does not fit gives way to a provider that does.
    const auto only_extra = database(
        {{"app", "1-1", {"lib>=5"}, {}, {}}, {"lib", "2.0-1", {}, {}, {}}, {"lib-ng", "9-1", {}, {"lib=9"}, {}}});
    auto provided = resolve_closure({{"extra", &only_extra}}, "app");
    ASSERT_TRUE(provided) << provided.error().message;
    EXPECT_EQ(names(*provided), (std::vector<std::string>{"extra/app", "extra/lib-ng"}));
}

TEST(Closure, RefusesWhatNothingSatisfies) {
    const auto extra = database({{"app", "1-1", {"lib>=3"}, {}, {}}, {"lib", "2.0-1", {}, {}, {}}});
    expect_refused(resolve_closure({{"extra", &extra}}, "app"),
                   "nothing in the repositories satisfies 'lib>=3', which app depends on");
    expect_refused(resolve_closure({{"extra", &extra}}, "absent"), "no repository has a package named 'absent'");
    // An unversioned provision does not satisfy a versioned dependency.
    const auto unversioned = database({{"app", "1-1", {"sh>=5"}, {}, {}}, {"bash", "5-1", {}, {"sh"}, {}}});
    expect_refused(resolve_closure({{"extra", &unversioned}}, "app"), "satisfies 'sh>=5'");
}

TEST(Closure, NeedsAPreferenceBetweenSeveralProviders) {
    const auto extra =
        database({{"app", "1-1", {"sh"}, {}, {}}, {"bash", "5-1", {}, {"sh"}, {}}, {"dash", "0.5-1", {}, {"sh"}, {}}});
    expect_refused(resolve_closure({{"extra", &extra}}, "app"),
                   "'sh' (needed by app) is provided by extra/bash, extra/dash; name exactly one");
    ClosureOptions options;
    options.preferred_providers = {"dash"};
    auto closure = resolve_closure({{"extra", &extra}}, "app", options);
    ASSERT_TRUE(closure) << closure.error().message;
    EXPECT_EQ(names(*closure), (std::vector<std::string>{"extra/app", "extra/dash"}));
    options.preferred_providers = {"dash", "bash"};
    expect_refused(resolve_closure({{"extra", &extra}}, "app", options), "more than one of them is preferred");
    // A provider already in the closure settles it without a preference.
    const auto chosen = database(
        {{"app", "1-1", {"bash", "sh"}, {}, {}}, {"bash", "5-1", {}, {"sh"}, {}}, {"dash", "0.5-1", {}, {"sh"}, {}}});
    auto settled = resolve_closure({{"extra", &chosen}}, "app");
    ASSERT_TRUE(settled) << settled.error().message;
    EXPECT_EQ(names(*settled), (std::vector<std::string>{"extra/app", "extra/bash"}));
}

TEST(Closure, RefusesTwoPackagesOfOneNameAndConflicts) {
    const auto testing = database({{"lib", "1.0-1", {}, {}, {}}});
    const auto extra = database(
        {{"app", "1-1", {"lib", "tool"}, {}, {}}, {"lib", "2.0-1", {}, {}, {}}, {"tool", "1-1", {"lib>=2"}, {}, {}}});
    expect_refused(resolve_closure({{"testing", &testing}, {"extra", &extra}}, "app"),
                   "tool: lib>=2 needs extra/lib 2.0-1, but the closure already has testing/lib 1.0-1");

    const auto conflicting =
        database({{"app", "1-1", {"a", "b"}, {}, {}}, {"a", "1-1", {}, {}, {"b<2"}}, {"b", "1.5-1", {}, {}, {}}});
    expect_refused(resolve_closure({{"extra", &conflicting}}, "app"),
                   "a conflicts with 'b<2', which b 1.5-1 in the closure satisfies");
    // Conflicting with one's own provision is how packages take over an old name: allowed.
    const auto self = database({{"app", "1-1", {}, {"old-app"}, {"old-app"}}});
    EXPECT_TRUE(resolve_closure({{"extra", &self}}, "app"));
}

TEST(Closure, IsBounded) {
    std::vector<Spec> chain;
    for (int i = 0; i < 20; ++i)
        chain.push_back({"p" + std::to_string(i), "1-1", {"p" + std::to_string(i + 1)}, {}, {}});
    chain.push_back({"p20", "1-1", {}, {}, {}});
    const auto extra = database(chain);
    ClosureOptions options;
    options.max_packages = 10;
    auto result = resolve_closure({{"extra", &extra}}, "p0", options);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::too_large);
    auto whole = resolve_closure({{"extra", &extra}}, "p0");
    ASSERT_TRUE(whole) << whole.error().message;
    EXPECT_EQ(whole->size(), 21U);
}

TEST(Closure, ResolvesARepoAddDatabaseOfMakepkgPackages) {
    testing::SamplePackages samples;
    samples.dir.write("shell/PKGBUILD", testing::kShellPkgbuild);
    const auto shell = testing::run_makepkg(samples.dir.path() / "shell");
    testing::TempDir repo;
    std::vector<std::string> argv = {"/usr/bin/repo-add", "--quiet", (repo.path() / "demo.db.tar.zst").string()};
    for (const auto& package : {samples.app, samples.lib, shell}) argv.push_back(package.string());
    const auto added = testing::run_process(argv);
    ASSERT_EQ(added.exit_code, 0) << added.err;
    auto db = archpkg::read_repo_database_file((repo.path() / "demo.db").string());
    ASSERT_TRUE(db) << db.error().message;
    auto closure = resolve_closure({{"demo", &*db}}, "demo-app");
    ASSERT_TRUE(closure) << closure.error().message;
    EXPECT_EQ(names(*closure), (std::vector<std::string>{"demo/demo-app", "demo/demo-lib", "demo/demo-shell"}));
    EXPECT_EQ((*closure)[1].required_by, (std::vector<std::string>{"demo-app: demo-lib>=1.0"}));
}

}  // namespace
}  // namespace bulkhead::curate
