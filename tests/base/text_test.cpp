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

TEST(Text, Concat) {
    EXPECT_EQ(concat({}), "");
    const std::string middle = "b";
    EXPECT_EQ(concat({"a", middle, std::string_view("cd")}), "abcd");
}

}  // namespace
}  // namespace bulkhead
