#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "network/addresses.hpp"
#include "network/firewall.hpp"
#include "network/port_forward.hpp"
#include "support/run_process.hpp"

namespace bulkhead::network {
namespace {

TEST(AppAddresses, EachAppHasItsOwnBlockOfEight) {
    auto first = app_addresses(0);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->guest_subnet, "100.64.0.0/30");
    EXPECT_EQ(first->gateway, "100.64.0.1");
    EXPECT_EQ(first->guest, "100.64.0.2");
    EXPECT_EQ(first->provider, "100.64.0.5");
    EXPECT_EQ(first->app_uplink, "100.64.0.6");
    EXPECT_EQ(first->provider_interface, "bha0");
    EXPECT_EQ(first->mac, "02:62:68:00:00:00");
    auto last = app_addresses(kMaxAppIndex);
    ASSERT_TRUE(last);
    EXPECT_EQ(last->guest, "100.65.56.122");  // 9999 * 8 + 2 = 79994 = 1 * 65536 + 56 * 256 + 122
    EXPECT_EQ(last->provider_interface, "bha9999");
    EXPECT_EQ(last->mac, "02:62:68:00:27:0f");
    EXPECT_FALSE(app_addresses(kMaxAppIndex + 1));
}

TEST(AppAddresses, Ipv4LiteralsAreStrict) {
    for (const char* good : {"0.0.0.0", "192.0.2.1", "255.255.255.255"}) EXPECT_TRUE(is_ipv4_literal(good)) << good;
    for (const char* bad : {"", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1..2.3", "a.b.c.d",
                            "1.2.3.-4", " 1.2.3.4", "[::1]"}) {
        EXPECT_FALSE(is_ipv4_literal(bad)) << bad;
    }
}

TEST(Firewall, RulesFollowTheGrants) {
    const AppAddresses a = *app_addresses(3);
    const AppAddresses b = *app_addresses(4);
    const std::string rules =
        render_ruleset({{"browser", a, true, {}}, {"mail", b, false, {{"192.0.2.1", 993}, {"192.0.2.2", 587}}}});
    // The whole table is replaced in one transaction.
    EXPECT_EQ(rules.rfind("table inet bulkhead\ndelete table inet bulkhead\n", 0), 0U);
    EXPECT_NE(rules.find("iifname \"bha*\" oifname \"bha*\" drop"), std::string::npos);
    EXPECT_NE(rules.find("iifname \"bha3\" ip saddr != 100.64.0.26 drop"), std::string::npos);
    EXPECT_NE(rules.find("chain app_out_bha3 {\n    # browser\n    accept\n"), std::string::npos) << rules;
    EXPECT_NE(rules.find("chain app_in_bha3 {\n    # browser\n    accept\n"), std::string::npos) << rules;
    EXPECT_NE(rules.find("ip daddr . th dport { 192.0.2.1 . 993, 192.0.2.2 . 587 } accept"), std::string::npos)
        << rules;
    // Answers only from a destination still allowed, however old the connection.
    EXPECT_NE(rules.find("oifname \"bha4\" ip daddr 100.64.0.34 ct state established,related jump app_in_bha4"),
              std::string::npos);
    EXPECT_NE(rules.find("ip saddr . th sport { 192.0.2.1 . 993, 192.0.2.2 . 587 } accept"), std::string::npos);
    EXPECT_NE(rules.find("meta nfproto ipv6 iifname \"bha*\" drop"), std::string::npos);
    EXPECT_NE(rules.find("policy drop"), std::string::npos);
    EXPECT_NE(rules.find("ip saddr 100.64.0.0/15 oifname != \"bha*\" masquerade"), std::string::npos);
    // An app with no network grant gets an empty chain: its packets meet the drop policy.
    const std::string none = render_ruleset({{"quiet", a, false, {}}});
    EXPECT_NE(none.find("chain app_out_bha3 {\n    # quiet\n  }"), std::string::npos) << none;
    EXPECT_NE(none.find("chain app_in_bha3 {\n    # quiet\n  }"), std::string::npos) << none;
    EXPECT_EQ(render_ruleset({}).find("bha3"), std::string::npos);
}

// nft itself accepts what we render: checked (not applied) in a namespace of the test's own.
TEST(Firewall, NftAcceptsTheRuleset) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    const std::string ns = "bhfw" + std::to_string(::getpid());
    ASSERT_EQ(testing::run_process({"/usr/sbin/ip", "netns", "add", ns}).exit_code, 0);
    const std::string file = "/tmp/" + ns + ".nft";
    {
        const AppAddresses a = *app_addresses(3);
        std::ofstream(file) << render_ruleset({{"browser", a, true, {}}, {"mail", a, false, {{"192.0.2.1", 993}}}});
    }
    const auto checked = testing::run_process({"/usr/sbin/ip", "netns", "exec", ns, "/usr/sbin/nft", "-c", "-f", file});
    EXPECT_EQ(checked.exit_code, 0) << checked.err;
    std::remove(file.c_str());
    (void)testing::run_process({"/usr/sbin/ip", "netns", "del", ns});
}

TEST(PortForward, ArgumentsAreStrict) {
    auto port = parse_forward_argument(format_forward_argument({5, "100.64.0.2", 8080}));
    ASSERT_TRUE(port) << port.error().message;
    EXPECT_EQ(port->listener, 5);
    EXPECT_EQ(port->guest_address, "100.64.0.2");
    EXPECT_EQ(port->guest_port, 8080);
    for (const char* bad : {"", "5", "5:100.64.0.2", "2:100.64.0.2:80", "5:100.64.0.2:0", "5:100.64.0.2:65536",
                            "5:host:80", "05:100.64.0.2:80", "5:100.64.0.2:080", "x:100.64.0.2:80"}) {
        EXPECT_FALSE(parse_forward_argument(bad)) << bad;
    }
}

}  // namespace
}  // namespace bulkhead::network
