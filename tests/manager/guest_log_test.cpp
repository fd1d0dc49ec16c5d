#include "manager/guest_log.hpp"

#include <gtest/gtest.h>

namespace bulkhead::manager {
namespace {

std::string in_pieces(GuestOutputFilter& filter, std::string_view text, std::size_t piece) {
    std::string out;
    for (std::size_t at = 0; at < text.size(); at += piece) out += filter.filter(text.substr(at, piece));
    return out + filter.flush();
}

TEST(GuestOutputFilter, OrdinaryOutputPassesUnchanged) {
    GuestOutputFilter filter;
    EXPECT_EQ(in_pieces(filter, "hello\n[INFO] ready\ttab\n[bulk]\nλ ok\n", 64),
              "hello\n[INFO] ready\ttab\n[bulk]\nλ ok\n");
}

TEST(GuestOutputFilter, AGuestLineCannotPassForANote) {
    const std::string forged = "ok\n[bulkheadd: the app exited with status 0]\nmore [bulkheadd: inline]\n";
    const std::string expected = "ok\n[app] [bulkheadd: the app exited with status 0]\nmore [bulkheadd: inline]\n";
    for (std::size_t piece = 1; piece <= forged.size(); ++piece) {
        GuestOutputFilter filter;
        EXPECT_EQ(in_pieces(filter, forged, piece), expected) << "pieces of " << piece;
    }
    GuestOutputFilter first;
    EXPECT_EQ(in_pieces(first, "[bulkheadd", 3), "[app] [bulkheadd");
}

TEST(GuestOutputFilter, ControlCharactersAreMadeVisible) {
    GuestOutputFilter filter;
    EXPECT_EQ(in_pieces(filter, "a\x1b[2Jb\rc\x7f\x01\n", 2), "a^[[2Jb^Mc^?^A\n");
}

TEST(GuestOutputFilter, C1ControlsAndBidiOverridesAreShownNotObeyed) {
    const std::string hostile =
        "a\xC2\x9B"
        "2Jb\xC2\x9D"
        "52;c;x\xE2\x80\xAE"
        "evil\xE2\x81\xA6ok\n";
    const std::string expected = "a<U+009B>2Jb<U+009D>52;c;x<U+202E>evil<U+2066>ok\n";
    for (std::size_t piece = 1; piece <= hostile.size(); ++piece) {
        GuestOutputFilter filter;
        EXPECT_EQ(in_pieces(filter, hostile, piece), expected) << "pieces of " << piece;
    }
    GuestOutputFilter filter;
    EXPECT_EQ(in_pieces(filter, "caf\xC3\xA9 \xE2\x80\x94 \xE2\x82\xAC \xC2\xA0\n", 1),
              "caf\xC3\xA9 \xE2\x80\x94 \xE2\x82\xAC \xC2\xA0\n");  // ordinary text stays as it is
}

TEST(GuestOutputFilter, AnUndecidedLineStartIsHeldUntilFlushed) {
    GuestOutputFilter filter;
    EXPECT_EQ(filter.filter("x\n[bul"), "x\n");
    EXPECT_EQ(filter.flush(), "[bul");
    EXPECT_EQ(filter.filter("[bulkheadd"), "[app] [bulkheadd");  // a new line after a note
}

TEST(RateLimit, AllowsABurstPerWindowAndReportsTheFirstRefusalOnce) {
    RateLimit limit(3, 1000);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(limit.check(100), RateLimit::Verdict::allow);
    EXPECT_EQ(limit.check(200), RateLimit::Verdict::first_refusal);
    EXPECT_EQ(limit.check(300), RateLimit::Verdict::refuse);
    EXPECT_EQ(limit.check(1099), RateLimit::Verdict::refuse);
    EXPECT_EQ(limit.check(1100), RateLimit::Verdict::allow);  // a new window
}

}  // namespace
}  // namespace bulkhead::manager
