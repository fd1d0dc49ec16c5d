#include "tuf/delegation.hpp"

#include <gtest/gtest.h>

#include "tuf/url.hpp"

namespace bulkhead::tuf {
namespace {

TEST(PathPattern, MatchesSegmentBySegment) {
    // Vectors from the reference implementation's behaviour.
    EXPECT_TRUE(path_matches_pattern("foo.tgz", "*"));
    EXPECT_TRUE(path_matches_pattern("foo/bar/zoo/k.tgz", "foo/*/zoo/*"));
    EXPECT_TRUE(path_matches_pattern("foo/bar/zoo/k.tgz", "*/*/*/*"));
    EXPECT_TRUE(path_matches_pattern("foo/bar", "*o/bar"));
    EXPECT_TRUE(path_matches_pattern("foo-1.tgz", "foo-?.tgz"));
    EXPECT_TRUE(path_matches_pattern(".hidden", "*"));
    EXPECT_FALSE(path_matches_pattern("targets/foo.tgz", "*.tgz"));
    EXPECT_FALSE(path_matches_pattern("targets/foo.tgz", "*"));
    EXPECT_FALSE(path_matches_pattern("foo/bar", "f?/bar"));
    EXPECT_FALSE(path_matches_pattern("foo-version-alpha.tgz", "foo-version-?.tgz"));
    EXPECT_FALSE(path_matches_pattern("/foo.tgz", "*.tgz"));
    EXPECT_FALSE(path_matches_pattern("README.MD", "*.md"));
}

TEST(PathPattern, CharacterClassesAndUnicode) {
    EXPECT_TRUE(path_matches_pattern("file-a", "file-[abc]"));
    EXPECT_FALSE(path_matches_pattern("file-d", "file-[abc]"));
    EXPECT_TRUE(path_matches_pattern("file-d", "file-[!abc]"));
    EXPECT_TRUE(path_matches_pattern("file-5", "file-[0-9]"));
    EXPECT_FALSE(path_matches_pattern("file-5", "file-[9-0]"));  // reversed range matches nothing
    EXPECT_TRUE(path_matches_pattern("file-]", "file-[]]"));
    EXPECT_TRUE(path_matches_pattern("file-[", "file-["));     // unclosed class: literal
    EXPECT_TRUE(path_matches_pattern("caf\xc3\xa9", "caf?"));  // one character, two bytes
    EXPECT_TRUE(path_matches_pattern("aaa", "*a*a*a*"));
    EXPECT_FALSE(path_matches_pattern("aa", "*a*a*a*"));
}

TEST(HashPrefixes, UseTheSha256OfThePath) {
    DelegatedRole role;
    role.path_hash_prefixes = std::vector<std::string>{"fc"};
    const std::string hash = target_path_hash("bar");
    EXPECT_TRUE(hash.starts_with("fc"));
    EXPECT_TRUE(role_covers_path(role, "bar", hash));
    EXPECT_FALSE(role_covers_path(role, "foo", target_path_hash("foo")));
    role.path_hash_prefixes = std::vector<std::string>{"FC"};
    EXPECT_FALSE(role_covers_path(role, "bar", hash));
}

TEST(SuccinctBins, Tap15Examples) {
    SuccinctRoles bins{RoleKeys{}, 8, "bin"};
    EXPECT_EQ(succinct_bin_for(bins, target_path_hash("bar")), "bin-fc");
    bins.bit_length = 2;
    EXPECT_EQ(succinct_bin_for(bins, target_path_hash("foo")), "bin-0");
    EXPECT_EQ(succinct_bin_for(bins, target_path_hash("doo")), "bin-1");
    EXPECT_EQ(succinct_bin_for(bins, target_path_hash("too")), "bin-2");
    EXPECT_EQ(succinct_bin_for(bins, target_path_hash("bar")), "bin-3");
    bins.bit_length = 11;
    bins.name_prefix = "alice.hbd";
    EXPECT_EQ(succinct_bin_name(bins, 0), "alice.hbd-000");
    EXPECT_EQ(succinct_bin_name(bins, 0x7ff), "alice.hbd-7ff");
    bins.bit_length = 14;
    EXPECT_EQ(succinct_bin_name(bins, 0x3fff), "alice.hbd-3fff");
}

TEST(PercentEncode, LikePythonQuoteWithNoSafeCharacters) {
    EXPECT_EQ(percent_encode("../a"), "..%2Fa");
    EXPECT_EQ(percent_encode("."), ".");
    EXPECT_EQ(percent_encode("/"), "%2F");
    EXPECT_EQ(percent_encode("\xc3\xb6"), "%C3%B6");
    EXPECT_EQ(percent_encode("a b?#~_-"), "a%20b%3F%23~_-");
}

}  // namespace
}  // namespace bulkhead::tuf
