#include "base/text.hpp"

#include <gtest/gtest.h>

namespace bulkhead {
namespace {

TEST(Text, Hex) {
    EXPECT_EQ(hex(255), "0xff");
    EXPECT_EQ(hex(10, 4), "0x000a");
    EXPECT_EQ(hex_encode(std::string("\x00\xab", 2)), "00ab");
    EXPECT_EQ(*hex_decode("00AB"), std::string("\x00\xab", 2));
    EXPECT_FALSE(hex_decode("abc"));
    EXPECT_FALSE(hex_decode("zz"));
    EXPECT_EQ(hex_digit_value('F'), 15);
    EXPECT_EQ(hex_digit_value('g'), -1);
}

TEST(Text, ValidUtf8ReplacesWhatIsNot) {
    EXPECT_EQ(valid_utf8("plain \xC3\xA9t\xC3\xA9"), "plain \xC3\xA9t\xC3\xA9");
    EXPECT_EQ(valid_utf8("a\xFF"
                         "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
    EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    EXPECT_EQ(valid_utf8("cut \xE2\x82"), "cut \xEF\xBF\xBD\xEF\xBF\xBD");          // split at the end
    EXPECT_EQ(valid_utf8(std::string("nul\0ok", 6)), std::string("nul\0ok", 6));
}

TEST(Text, Concat) {
    EXPECT_EQ(concat({}), "");
    const std::string middle = "b";
    EXPECT_EQ(concat({"a", middle, std::string_view("cd")}), "abcd");
}

}  // namespace
}  // namespace bulkhead

namespace bulkhead {
namespace {

TEST(Base64, DecodesStrictly) {
    EXPECT_EQ(base64_decode("").value(), "");
    EXPECT_EQ(base64_decode("Zg==").value(), "f");
    EXPECT_EQ(base64_decode("Zm8=").value(), "fo");
    EXPECT_EQ(base64_decode("Zm9v").value(), "foo");
    EXPECT_EQ(base64_decode("Zm9vYmFy").value(), "foobar");
    EXPECT_EQ(base64_decode("+/+/").value(), "\xfb\xff\xbf");
    for (const char* bad : {"Zg", "Zg=", "Zm9v\n", "Z m9", "Zh==", "Zm9=a===", "Zg=a", "====", "Zm-v", "Zm_v"}) {
        EXPECT_FALSE(base64_decode(bad)) << bad;
    }
}

}  // namespace
}  // namespace bulkhead
