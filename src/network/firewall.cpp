#include "network/firewall.hpp"

#include <sys/mman.h>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "network/tool_script.hpp"

namespace bulkhead::network {

namespace {

constexpr const char* kNft = "/usr/sbin/nft";

Result<void> run_nft(int provider_namespace, const std::string& script) {
    return run_tool_script(kNft, "-f", script, provider_namespace, -1, "updating the network provider's firewall");
}

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

}  // namespace

std::string render_ruleset(const std::vector<AppRules>& apps) {
    const std::string all_apps = quoted(std::string(kAppSideInterfacePrefix) + "*");
    // Declaring the table first makes the delete succeed when there is none yet; nft applies
    // the whole script as one transaction.
    std::string out = "table inet bulkhead\ndelete table inet bulkhead\ntable inet bulkhead {\n";
    std::string app_chains;
    out += "  chain forward {\n    type filter hook forward priority filter; policy drop;\n";
    // App VMs have IPv4 only: no IPv6 passes to or from one.
    out += concat({"    meta nfproto ipv6 iifname ", all_apps, " drop\n"});
    out += concat({"    meta nfproto ipv6 oifname ", all_apps, " drop\n"});
    out += concat({"    iifname ", all_apps, " oifname ", all_apps, " drop\n"});
    for (const AppRules& app : apps) {
        const std::string interface = quoted(app.addresses.provider_interface);
        const std::string out_chain = "app_out_" + app.addresses.provider_interface;
        const std::string in_chain = "app_in_" + app.addresses.provider_interface;
        out += concat({"    iifname ", interface, " ip saddr != ", app.addresses.guest, " drop\n"});
        out += concat({"    iifname ", interface, " jump ", out_chain, "\n"});
        out += concat({"    oifname ", interface, " ip daddr ", app.addresses.guest,
                       " ct state established,related jump ", in_chain, "\n"});
        // Both directions are checked against the grants as they are now: an answer passes only
        // on a connection to a destination still allowed.
        app_chains += concat({"  chain ", out_chain, " {\n    # ", app.app, "\n"});
        std::string in_rules;
        if (app.everywhere) {
            app_chains += "    accept\n";
            in_rules = "    accept\n";
        } else if (!app.destinations.empty()) {
            std::string set;
            for (const Destination& destination : app.destinations) {
                set += concat({set.empty() ? "" : ", ", destination.address, " . ", std::to_string(destination.port)});
            }
            app_chains += concat({"    meta l4proto { tcp, udp } ip daddr . th dport { ", set, " } accept\n"});
            // An answer comes from the destination the guest connected to; ICMP errors about
            // such a connection (path MTU, unreachable) come from anywhere on the way.
            in_rules = concat({"    meta l4proto { tcp, udp } ip saddr . th sport { ", set, " } accept\n",
                               "    ct state related meta l4proto icmp accept\n"});
        }
        app_chains += concat({"  }\n  chain ", in_chain, " {\n    # ", app.app, "\n", in_rules, "  }\n"});
    }
    out += "  }\n";
    out += app_chains;
    out += concat({"  chain input {\n    type filter hook input priority filter; policy accept;\n    iifname ",
                   all_apps, " drop\n  }\n"});
    out += concat({"  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n",
                   "    ip saddr ", kAppsRange, " oifname != ", all_apps, " masquerade\n  }\n"});
    out += "}\n";
    return out;
}

Result<void> apply_ruleset(int provider_namespace, const std::vector<AppRules>& apps) {
    return run_nft(provider_namespace, render_ruleset(apps));
}

Result<void> remove_ruleset(int provider_namespace) {
    return run_nft(provider_namespace, "table inet bulkhead\ndelete table inet bulkhead\n");
}

}  // namespace bulkhead::network
