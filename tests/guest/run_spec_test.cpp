#include "guest/run_spec.hpp"

#include <gtest/gtest.h>

namespace bulkhead::guest {
namespace {

TEST(GuestNetwork, RoundTripsAndRefusesAnythingElse) {
    const GuestNetwork network{"100.64.0.2", 30, "100.64.0.1"};
    EXPECT_EQ(format_guest_network(network), "100.64.0.2/30 100.64.0.1\n");
    auto parsed = parse_guest_network(format_guest_network(network));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->address, "100.64.0.2");
    EXPECT_EQ(parsed->prefix, 30);
    EXPECT_EQ(parsed->gateway, "100.64.0.1");
    for (const char* bad : {"", "100.64.0.2/30 100.64.0.1", "100.64.0.2 100.64.0.1\n", "100.64.0.2/31 100.64.0.1\n",
                            "100.64.0.2/030 100.64.0.1\n", "100.64.0.2/30 100.64.0.1 x\n", "1.2.3/30 1.2.3.4\n",
                            "01.2.3.4/30 1.2.3.4\n", "::1/30 1.2.3.4\n", "100.64.0.2/30  100.64.0.1\n"}) {
        EXPECT_FALSE(parse_guest_network(bad)) << bad;
    }
}

TEST(GuestShares, RoundTripsAndRefusesAnythingElse) {
    const std::vector<GuestShare> shares = {{"files0", "/srv/photos", false}, {"files1", "/home/a b/docs", true}};
    EXPECT_EQ(format_guest_shares(shares), "files0 ro /srv/photos\nfiles1 rw /home/a b/docs\n");
    auto parsed = parse_guest_shares(format_guest_shares(shares));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, shares);
    EXPECT_TRUE(parse_guest_shares("")->empty());
    for (const char* bad : {"files0 ro /srv", "files0 xx /srv\n", "Files0 ro /srv\n", "files0 ro srv\n",
                            "files0 ro /srv/../etc\n", "files0 ro /srv/\n", "files0 ro /\n", "files0 ro //srv\n",
                            "files0 ro /srv\x01\n", "files0 ro /a/.\n", "files0ro /srv\n", "files0 ro\n"}) {
        EXPECT_FALSE(parse_guest_shares(bad)) << bad;
    }
    std::string many;
    for (int i = 0; i < 17; ++i) many += "files" + std::to_string(i) + " ro /srv\n";
    EXPECT_FALSE(parse_guest_shares(many));
}

}  // namespace
}  // namespace bulkhead::guest
