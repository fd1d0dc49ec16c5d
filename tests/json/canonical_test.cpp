#include "json/canonical.hpp"

#include <gtest/gtest.h>

#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::json {
namespace {

std::string canonical_of(std::string_view text) {
    auto value = parse(text);
    EXPECT_TRUE(value) << value.error().message;
    auto out = canonical(*value);
    EXPECT_TRUE(out) << out.error().message;
    return out ? *out : std::string();
}

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
    EXPECT_EQ(canonical_of(R"({ "b" : 1, "a" : [ true, null, "x" ], "c": {"z": -0, "y": {}} })"),
              R"({"a":[true,null,"x"],"b":1,"c":{"y":{},"z":0}})");
}

TEST(CanonicalJson, EscapesOnlyQuoteAndBackslash) {
    // Control characters and non-ASCII are written as they are, as securesystemslib does.
    EXPECT_EQ(canonical_of(R"(["a\"b\\c\n\u0001é\/"])"), "[\"a\\\"b\\\\c\n\x01\xc3\xa9/\"]");
}

TEST(CanonicalJson, SortsKeysByCodePoint) {
    EXPECT_EQ(canonical_of(R"({"é":1,"z":2,"Z":3,"\ud83d\ude00":4,"\uffff":5})"),
              "{\"Z\":3,\"z\":2,\"\xc3\xa9\":1,\"\xef\xbf\xbf\":5,\"\xf0\x9f\x98\x80\":4}");
}

TEST(CanonicalJson, KeepsHugeIntegersAndRefusesFractions) {
    EXPECT_EQ(canonical_of("[123456789012345678901234567890]"), "[123456789012345678901234567890]");
    auto value = parse("{\"a\":1.0}");
    ASSERT_TRUE(value);
    auto out = canonical(*value);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, ErrorCode::unsupported);
    EXPECT_EQ(out.error().message, "canonical JSON cannot represent the non-integer number 1.0");
}

TEST(CanonicalJson, TufRootExampleMatchesSecuresystemslibBytes) {
    // The canonical bytes python-tuf signs for this "signed" object, computed independently.
    const std::string signed_part = R"({
        "_type": "root", "spec_version": "1.0.31", "version": 1, "expires": "2030-01-01T00:00:00Z",
        "consistent_snapshot": true,
        "keys": {"ab": {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "00ff"}}},
        "roles": {"root": {"keyids": ["ab"], "threshold": 1}}
    })";
    EXPECT_EQ(canonical_of(signed_part),
              R"({"_type":"root","consistent_snapshot":true,"expires":"2030-01-01T00:00:00Z",)"
              R"("keys":{"ab":{"keytype":"ed25519","keyval":{"public":"00ff"},"scheme":"ed25519"}},)"
              R"("roles":{"root":{"keyids":["ab"],"threshold":1}},"spec_version":"1.0.31","version":1})");
}

TEST(PlainJson, EscapesEverythingJsonRequiresAndRoundTrips) {
    auto value = parse(R"({"b":"line\nbreak\u0001\"quote\\","a":[1,-2,null,true,1.5e3]})");
    ASSERT_TRUE(value);
    const std::string written = to_json(*value);
    EXPECT_EQ(written, R"({"a":[1,-2,null,true,1.5e3],"b":"line\nbreak\u0001\"quote\\"})");
    EXPECT_EQ(*parse(written), *value);
}

TEST(CanonicalJson, ControlCharactersStayRawSoTheOutputIsNotAlwaysJson) {
    // Found by the fuzz target: OLPC canonical form does not escape control characters, so its
    // bytes can be unparseable as JSON. Signatures cover these bytes, never a re-parse of them.
    const std::string encoded = canonical_of(R"(["\u000e"])");
    EXPECT_EQ(encoded, "[\"\x0e\"]");
    EXPECT_FALSE(parse(encoded));
}

}  // namespace
}  // namespace bulkhead::json
