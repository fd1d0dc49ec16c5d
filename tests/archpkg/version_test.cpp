// pacman's version order and dependency strings. The order is checked against a table of known
// results and against Debian's vercmp (pacman's own implementation) on many generated pairs.
#include "archpkg/version.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/run_process.hpp"

namespace bulkhead::archpkg {
namespace {

struct Known {
    const char* left;
    const char* right;
    int order;
};

TEST(VersionOrder, MatchesKnownResults) {
    const std::vector<Known> known = {
        {"1.5.0", "1.5.0", 0},   {"1.5.1", "1.5.0", 1},    {"1.5.1", "1.5", 1},     {"1.5.0-1", "1.5.0-2", -1},
        {"1.5.0-1", "1.5.0", 0}, {"1.0a", "1.0alpha", -1}, {"1.0", "1.0a", 1},      {"1.0rc1", "1.0", -1},
        {"1:1.0", "2.0", 1},     {"1.0.a", "1.0.1", -1},   {"1..0", "1.0", 1},      {"01", "1", 0},
        {"1.0", "1.0.0", -1},    {"2.0-1", "1:1.0-1", -1}, {"0:1.0", "1.0", 0},     {"1.0-1.1", "1.0-1", 1},
        {"1.0_1", "1.0.1", 0},   {"1.0+1", "1.0.1", 0},    {"a", "b", -1},          {"1.0alpha", "1.0beta", -1},
        {"1.0", "1.0-", 0},      {"10", "9", 1},           {"1.0.0", "1.0.0.", -1}, {"", "1", -1},
    };
    for (const auto& [left, right, order] : known) {
        EXPECT_EQ(compare_versions(left, right), order) << left << " vs " << right;
        EXPECT_EQ(compare_versions(right, left), -order) << right << " vs " << left;
    }
}

int pacman_vercmp(const std::string& left, const std::string& right) {
    const auto result = testing::run_process({"/usr/bin/vercmp", left, right});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return std::stoi(result.out);
}

TEST(VersionOrder, AgreesWithPacmanOnGeneratedPairs) {
    std::mt19937 random(20261127);
    const std::string alphabet = "0019az.-_:+~";
    const auto make_version = [&] {
        std::string version;
        const auto length = std::uniform_int_distribution<int>(0, 7)(random);
        for (int i = 0; i < length; ++i) {
            version += alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(random)];
        }
        return version;
    };
    int disagreements = 0;
    for (int i = 0; i < 1500 && disagreements < 10; ++i) {
        auto left = make_version();
        // Half the pairs share a prefix, where the interesting cases are.
        auto right = i % 2 == 0 ? make_version() : left.substr(0, left.size() / 2) + make_version();
        const int expected = pacman_vercmp(left, right);
        const int ours = compare_versions(left, right);
        if (ours != expected) ++disagreements;
        EXPECT_EQ(ours, expected) << "'" << left << "' vs '" << right << "'";
    }
}

TEST(VersionOrder, AgreesWithPacmanOnRealisticVersions) {
    const std::vector<std::string> versions = {"1.0-1",     "1:1.0-1",      "1.0.1-1",   "1.0rc1-1",   "1.0.r12.gabc-1",
                                               "2.38-7",    "2.38+r5+g1-1", "0.9.9-2.1", "20231101-1", "1.0-10",
                                               "1.0-9",     "1.0a-1",       "1.0.0-1",   "3:0.1-1",    "r123.abcdef-1",
                                               "1.2.3_4-1", "1.2.3.4-1",    "1.2-1",     "1.10-1",     "1.9-1"};
    for (const auto& left : versions) {
        for (const auto& right : versions) {
            EXPECT_EQ(compare_versions(left, right), pacman_vercmp(left, right)) << left << " vs " << right;
        }
    }
}

TEST(Names, FollowMakepkgRules) {
    EXPECT_TRUE(check_package_name("glibc"));
    EXPECT_TRUE(check_package_name("lib32-gcc-libs"));
    EXPECT_TRUE(check_package_name("libc++"));
    EXPECT_TRUE(check_package_name("python-@scope_name.x"));
    EXPECT_FALSE(check_package_name(""));
    EXPECT_FALSE(check_package_name("-rf"));
    EXPECT_FALSE(check_package_name(".hidden"));
    EXPECT_FALSE(check_package_name("with space"));
    EXPECT_FALSE(check_package_name("Ünicode"));
    EXPECT_FALSE(check_package_name("a/b"));
    EXPECT_FALSE(check_package_name(std::string(256, 'a')));
}

TEST(Versions, FollowMakepkgRules) {
    for (const char* good : {"1.0-1", "1:1.0-1", "1.0.r12.gabc-1", "2.38+r5-7.1", "0-0"}) {
        EXPECT_TRUE(check_full_version(good)) << good;
    }
    for (const char* bad : {"", "1.0", "-1", "1.0-", "1.0-a", "1.0-1.", "1.0-1.2.3", "a:1.0-1", ":1.0-1", "1 0-1",
                            "1/0-1", "1:2:3-1", "1.0-1-1x"}) {
        EXPECT_FALSE(check_full_version(bad)) << bad;
    }
}

TEST(Dependencies, ParseEveryRelation) {
    EXPECT_EQ(parse_dependency("sh").value(), (Dependency{"sh", Relation::any, ""}));
    EXPECT_EQ(parse_dependency("glibc>=2.38").value(), (Dependency{"glibc", Relation::greater_equal, "2.38"}));
    EXPECT_EQ(parse_dependency("a<=1").value(), (Dependency{"a", Relation::less_equal, "1"}));
    EXPECT_EQ(parse_dependency("a<1").value(), (Dependency{"a", Relation::less, "1"}));
    EXPECT_EQ(parse_dependency("a>1").value(), (Dependency{"a", Relation::greater, "1"}));
    EXPECT_EQ(parse_dependency("libdemo.so=1-64").value(), (Dependency{"libdemo.so", Relation::equal, "1-64"}));
    EXPECT_EQ(parse_dependency("python>=1:3.11").value(), (Dependency{"python", Relation::greater_equal, "1:3.11"}));
    for (const auto* text : {"glibc>=2.38", "sh", "a<1", "libdemo.so=1-64"}) {
        EXPECT_EQ(format_dependency(parse_dependency(text).value()), text);
    }
    for (const char* bad : {"", ">=1", "a>=", "a=>1", "a>=1 ", "a >= 1", "a==1", "a>=1<2", "a>=1/2"}) {
        EXPECT_FALSE(parse_dependency(bad)) << bad;
    }
    auto optional = parse_optional_dependency("python-foo>=2: for the foo feature");
    ASSERT_TRUE(optional);
    EXPECT_EQ(optional->dependency, (Dependency{"python-foo", Relation::greater_equal, "2"}));
    EXPECT_EQ(optional->description, "for the foo feature");
}

TEST(Dependencies, AreSatisfiedAsPacmanDoes) {
    const auto dependency = [](const char* text) { return parse_dependency(text).value(); };
    const std::vector<Dependency> provides = {dependency("libdemo.so=1-64"), dependency("demo")};
    EXPECT_TRUE(satisfies("demo-lib", "1.4-1", provides, dependency("demo-lib>=1.0")));
    EXPECT_TRUE(satisfies("demo-lib", "1.4-1", provides, dependency("demo-lib=1.4")));  // release ignored
    EXPECT_FALSE(satisfies("demo-lib", "1.4-1", provides, dependency("demo-lib>1.4")));
    EXPECT_FALSE(satisfies("demo-lib", "1.4-1", provides, dependency("demo-lib<1.4-1")));
    EXPECT_TRUE(satisfies("demo-lib", "1.4-1", provides, dependency("libdemo.so=1-64")));
    EXPECT_TRUE(satisfies("demo-lib", "1.4-1", provides, dependency("libdemo.so")));
    EXPECT_FALSE(satisfies("demo-lib", "1.4-1", provides, dependency("libdemo.so>=2")));
    EXPECT_TRUE(satisfies("demo-lib", "1.4-1", provides, dependency("demo")));
    // An unversioned provision does not satisfy a versioned dependency.
    EXPECT_FALSE(satisfies("demo-lib", "1.4-1", provides, dependency("demo>=1")));
    EXPECT_FALSE(satisfies("demo-lib", "1.4-1", provides, dependency("other")));
}

}  // namespace
}  // namespace bulkhead::archpkg
