// The network provider's firewall: one nftables table ("inet bulkhead") in the provider's
// namespace, written whole from the grants of every app VM that has a network device, and
// replaced in one transaction whenever a grant changes or a VM comes or goes. Every packet of
// an app is checked against its current grants, not only the first of a connection, so a
// revoke cuts established connections at the next packet.
//
// Rules, in order: no IPv6 to or from an app; nothing passes from one app to another; an app's
// packets must carry its own guest address; what leaves goes only where the app's grants allow
// (everything for `network`, the listed address and port, TCP or UDP, for `network:HOST:PORT`),
// and is masqueraded behind the provider's address; answers come back only on connections the
// app opened to a destination it is still allowed; the provider itself answers no app. Whatever
// no rule accepts is dropped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "network/addresses.hpp"

namespace bulkhead::network {

struct Destination {
    std::string address;  // IPv4, resolved
    std::uint16_t port = 0;
};

struct AppRules {
    std::string app;
    AppAddresses addresses;
    bool everywhere = false;                // `network`
    std::vector<Destination> destinations;  // `network:HOST:PORT`, when not everywhere
};

// The nft script that replaces the table with one holding `apps`' rules.
std::string render_ruleset(const std::vector<AppRules>& apps);

// Applies `render_ruleset(apps)` in the provider's namespace with nft, atomically.
Result<void> apply_ruleset(int provider_namespace, const std::vector<AppRules>& apps);

// Removes the table (bulkheadd's rules) from the provider's namespace.
Result<void> remove_ruleset(int provider_namespace);

}  // namespace bulkhead::network
