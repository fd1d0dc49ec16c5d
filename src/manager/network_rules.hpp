// From an app's grants to what its network device and the provider's firewall get.
#pragma once

#include <string>
#include <vector>

#include "network/firewall.hpp"
#include "permissions/permission.hpp"

namespace bulkhead::manager {

// Whether the grants give the VM a network device (network in any form, or expose-port).
bool needs_network_device(const std::vector<permissions::Permission>& granted);

// The firewall rules of one app. Destinations named by DNS name are looked up now, with the
// host's resolver; a name that does not resolve allows nothing (and is reported in `notes`).
network::AppRules rules_for(const std::string& app, const network::AppAddresses& addresses,
                            const std::vector<permissions::Permission>& granted, std::vector<std::string>& notes);

}  // namespace bulkhead::manager
