#include "tuf/time.hpp"

#include <gtest/gtest.h>

namespace bulkhead::tuf {
namespace {

TEST(Expires, ParsesAndFormats) {
    EXPECT_EQ(*parse_expires("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(*parse_expires("2030-01-01T00:00:00Z"), 1893456000);
    EXPECT_EQ(*parse_expires("2024-02-29T23:59:59Z"), 1709251199);
    EXPECT_EQ(format_expires(1893456000), "2030-01-01T00:00:00Z");
    EXPECT_EQ(format_expires(*parse_expires("2044-12-31T12:34:56Z")), "2044-12-31T12:34:56Z");
}

TEST(Expires, RejectsEverythingElse) {
    for (const char* text :
         {"2030-01-01T00:00:00.5Z", "2030-01-01T00:00:00+00:00", "2030-1-01T00:00:00Z", "2030-01-01t00:00:00z",
          "2030-01-01 00:00:00Z", "2030-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2030-13-01T00:00:00Z",
          "2030-01-01T24:00:00Z", "2030-01-01T00:00:60Z", "", "x030-01-01T00:00:00Z"}) {
        auto parsed = parse_expires(text);
        EXPECT_FALSE(parsed) << text;
        if (!parsed) {
            EXPECT_EQ(parsed.error().code, ErrorCode::parse);
        }
    }
}

}  // namespace
}  // namespace bulkhead::tuf
