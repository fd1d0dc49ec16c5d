// Where an app VM's network lives (docs/PERMISSIONS.md): the guest and the tap on its side of
// the app's own network namespace share one /30, the app namespace and the network provider
// share the next. Each app has a block of 8 addresses in 100.64.0.0/15, from its index (its uid
// minus the first app uid), so no two apps' addresses meet and the provider can route to each.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace bulkhead::network {

inline constexpr std::uint32_t kMaxAppIndex = 9999;            // as many as app uids; 8 addresses each
inline constexpr const char* kAppSideInterfacePrefix = "bha";  // provider-side veth of each app
inline constexpr const char* kAppsRange = "100.64.0.0/15";
inline constexpr const char* kTapName = "vm0";     // in the app namespace, towards the VM
inline constexpr const char* kUplinkName = "up0";  // in the app namespace, towards the provider
inline constexpr const char* kGuestInterface = "eth0";

struct AppAddresses {
    std::string guest;               // the VM's address
    std::string gateway;             // the tap's address in the app namespace: the VM's default route
    std::string guest_subnet;        // guest and gateway, as a /30
    std::string app_uplink;          // the app namespace's side of the veth
    std::string provider;            // the provider's side of the veth: the app namespace's default route
    std::string provider_interface;  // the name of the provider's side ("bha<index>")
    std::string mac;                 // the VM's NIC
    static constexpr int kPrefix = 30;
};

Result<AppAddresses> app_addresses(std::uint32_t index);

// An IPv4 address in dotted quad form, strictly (four decimal parts 0-255, no leading zeros).
bool is_ipv4_literal(const std::string& text);

}  // namespace bulkhead::network
