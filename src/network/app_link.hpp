// An app's own network namespace and its two links (docs/PERMISSIONS.md): a tap towards the VM
// and a veth pair towards the network provider's namespace. The app namespace only routes; what
// may pass is the provider's firewall's decision (network/firewall.hpp). Nothing of this touches
// the host's own network namespace.
#pragma once

#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "network/addresses.hpp"

namespace bulkhead::network {

struct AppLink {
    std::string app_namespace;    // where the app's namespace is held (a path bulkheadd owns)
    int provider_namespace = -1;  // an open descriptor of the provider's namespace
    AppAddresses addresses;
};

// Makes the app namespace (replacing a stale one), its tap, the veth pair and their addresses
// and routes, and returns the tap's descriptor for the VMM. On failure nothing of it is left.
Result<UniqueFd> set_up_app_link(const AppLink& link);

// Removes the veth pair (both ends at once) and the app namespace. Parts already gone are not
// an error.
Result<void> tear_down_app_link(const AppLink& link);

// Cuts the app from the provider at once, without the provider's help: removes the veth pair
// from the app's side. The VM keeps its device and reaches nothing beyond the app namespace.
Result<void> cut_app_link(const std::string& app_namespace);

}  // namespace bulkhead::network
