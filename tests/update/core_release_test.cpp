// The custom metadata a core release's targets carry: written and read back, and every rule of
// its strict reading.
#include "update/core_release.hpp"

#include <gtest/gtest.h>

#include "json/parse.hpp"

namespace bulkhead::update {
namespace {

const std::string kHash(64, 'a');

TEST(CoreRelease, RoundTripsAndNamesItsTargets) {
    const CoreRelease release{7, "2026.11.27", 3, kHash};
    auto parsed = parse_core_custom(core_custom(release, Part::verity));
    ASSERT_TRUE(parsed) << parsed.error().message;
    ASSERT_TRUE(parsed->has_value());
    EXPECT_EQ((*parsed)->first, release);
    EXPECT_EQ((*parsed)->second, Part::verity);
    EXPECT_EQ(core_target_path(7, Part::uki), "core/7/bulkhead.efi");
    EXPECT_EQ(core_target_path(7, Part::verity), "core/7/root.verity");
    EXPECT_EQ(core_target_path(7, Part::root), "core/7/root.erofs");
}

TEST(CoreRelease, OtherTargetsAreNotCoreTargets) {
    for (const char* text : {R"({"app": 1})", "[]", "3"}) {
        auto value = json::parse(text);
        ASSERT_TRUE(value) << text;
        auto parsed = parse_core_custom(*value);
        ASSERT_TRUE(parsed) << text;
        EXPECT_FALSE(parsed->has_value()) << text;
    }
    auto none = parse_core_custom(std::nullopt);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
}

TEST(CoreRelease, BrokenRulesAreRefused) {
    const std::string hash = "\"" + kHash + "\"";
    const std::string good_tail = R"(, "root_hash": )" + hash + R"(, "security_version": 1, "version": "1.0"})";
    for (const std::string& text : std::vector<std::string>{
             R"({"bulkhead_core": 1})",
             R"({"bulkhead_core": {"part": "uki", "release": 1}})",
             R"({"bulkhead_core": {"part": "kernel", "release": 1)" + good_tail + "}",
             R"({"bulkhead_core": {"part": "uki", "release": 0)" + good_tail + "}",
             R"({"bulkhead_core": {"part": "uki", "release": "1")" + good_tail + "}",
             R"({"bulkhead_core": {"part": "uki", "release": 1, "root_hash": ")" + kHash.substr(1) +
                 R"(", "security_version": 1, "version": "1.0"}})",
             R"({"bulkhead_core": {"part": "uki", "release": 1, "root_hash": ")" + std::string(64, 'A') +
                 R"(", "security_version": 1, "version": "1.0"}})",
             R"({"bulkhead_core": {"part": "uki", "release": 1, "root_hash": )" + hash +
                 R"(, "security_version": 65536, "version": "1.0"}})",
             R"({"bulkhead_core": {"part": "uki", "release": 1, "root_hash": )" + hash +
                 R"(, "security_version": 1, "version": "1/0"}})",
             R"({"bulkhead_core": {"extra": 1, "part": "uki", "release": 1, "root_hash": )" + hash +
                 R"(, "security_version": 1, "version": "1.0"}})",
         }) {
        auto value = json::parse(text);
        ASSERT_TRUE(value) << text;
        auto parsed = parse_core_custom(*value);
        EXPECT_FALSE(parsed) << text;
    }
}

}  // namespace
}  // namespace bulkhead::update
