#include "json/parse.hpp"

#include <string>

#include <gtest/gtest.h>

namespace bulkhead::json {
namespace {

TEST(JsonParse, ScalarsAndContainers) {
    auto value = parse(R"( {"b": [1, -2, true, false, null], "a": "x", "c": {"d": 1.5}} )");
    ASSERT_TRUE(value) << value.error().message;
    ASSERT_TRUE(value->is_object());
    const Object& members = value->as_object();
    ASSERT_EQ(members.size(), 3U);
    EXPECT_EQ(members[0].first, "a");  // kept sorted
    EXPECT_EQ(value->find("a")->as_string(), "x");
    const Array& items = value->find("b")->as_array();
    ASSERT_EQ(items.size(), 5U);
    EXPECT_EQ(items[0].as_integer(), 1);
    EXPECT_EQ(items[1].as_integer(), -2);
    EXPECT_TRUE(items[2].as_bool());
    EXPECT_TRUE(items[4].is_null());
    EXPECT_EQ(value->find("c")->find("d")->as_number_text().literal, "1.5");
    EXPECT_EQ(value->find("missing"), nullptr);
}

TEST(JsonParse, IntegersBeyondInt64AreKeptAsText) {
    auto value = parse("[9223372036854775807, 9223372036854775808, -9223372036854775808]");
    ASSERT_TRUE(value);
    EXPECT_EQ(value->as_array()[0].as_integer(), INT64_MAX);
    EXPECT_EQ(value->as_array()[1].as_number_text().literal, "9223372036854775808");
    EXPECT_EQ(value->as_array()[2].as_integer(), INT64_MIN);
}

TEST(JsonParse, StringEscapesAndUnicode) {
    auto value = parse(R"(["\"\\\/\b\f\n\r\t", "\u00e9\u20ac", "\ud83d\ude00", "é€😀"])");
    ASSERT_TRUE(value) << value.error().message;
    const Array& items = value->as_array();
    EXPECT_EQ(items[0].as_string(), "\"\\/\b\f\n\r\t");
    EXPECT_EQ(items[1].as_string(), "\xc3\xa9\xe2\x82\xac");
    EXPECT_EQ(items[2].as_string(), "\xf0\x9f\x98\x80");
    EXPECT_EQ(items[3].as_string(), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

struct Rejected {
    const char* name;
    std::string text;
    std::string message;
};

void PrintTo(const Rejected& input, std::ostream* out) { *out << input.name; }

class JsonRejects : public ::testing::TestWithParam<Rejected> {};

TEST_P(JsonRejects, WithPreciseError) {
    auto value = parse(GetParam().text);
    ASSERT_FALSE(value) << "accepted: " << GetParam().name;
    EXPECT_EQ(value.error().code, ErrorCode::parse);
    EXPECT_EQ(value.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, JsonRejects,
    ::testing::Values(
        Rejected{"empty", "", "JSON at byte 0: unexpected end of input, expected a value"},
        Rejected{"duplicate_key", R"({"a":1,"b":2,"a":3})",
                 "JSON object ending at byte 19 has the key \"a\" more than once"},
        Rejected{"trailing_data", "{} {}", "JSON at byte 3: unexpected data after the JSON value"},
        Rejected{"trailing_comma", "[1,]", "JSON at byte 3: unexpected character, expected a value"},
        Rejected{"leading_zero", "[01]", "JSON at byte 2: expected ',' or ']' in array"},
        Rejected{"bare_fraction", "[.5]", "JSON at byte 1: unexpected character, expected a value"},
        Rejected{"bom", "\xef\xbb\xbf{}", "JSON at byte 0: unexpected character, expected a value"},
        Rejected{"control_char", "[\"a\tb\"]", "JSON at byte 3: control character in string"},
        Rejected{"invalid_utf8", "[\"\xc3\x28\"]", "JSON at byte 2: invalid UTF-8 in string"},
        Rejected{"overlong_utf8", "[\"\xc0\xaf\"]", "JSON at byte 2: invalid UTF-8 in string"},
        Rejected{"encoded_surrogate", "[\"\xed\xa0\x80\"]", "JSON at byte 2: invalid UTF-8 in string"},
        Rejected{"lone_high_surrogate", R"(["\ud800"])",
                 "JSON at byte 8: high surrogate not followed by a low surrogate"},
        Rejected{"lone_low_surrogate", R"(["\udc00"])", "JSON at byte 8: lone low surrogate in \\u escape"},
        Rejected{"bad_escape", R"(["\x"])", "JSON at byte 3: invalid escape character"},
        Rejected{"unterminated", R"(["abc)", "JSON at byte 5: unterminated string"},
        Rejected{"single_quotes", "['a']", "JSON at byte 1: unexpected character, expected a value"},
        Rejected{"key_not_string", "{1:2}", "JSON at byte 1: expected a string as object key"},
        Rejected{"nul_in_string", std::string("[\"a\0\"]", 6), "JSON at byte 3: control character in string"}));

TEST(JsonParse, DepthIsBounded) {
    const std::string deep = std::string(129, '[') + std::string(129, ']');
    auto value = parse(deep);
    ASSERT_FALSE(value);
    EXPECT_EQ(value.error().message, "JSON at byte 128: nesting deeper than 128");
    EXPECT_TRUE(parse(std::string(128, '[') + std::string(128, ']')));
}

TEST(JsonParse, SizeIsBounded) {
    ParseLimits limits;
    limits.max_bytes = 4;
    auto value = parse("[1,2]", limits);
    ASSERT_FALSE(value);
    EXPECT_EQ(value.error().code, ErrorCode::too_large);
}

}  // namespace
}  // namespace bulkhead::json
