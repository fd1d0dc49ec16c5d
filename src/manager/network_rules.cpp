#include "manager/network_rules.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <memory>

#include <arpa/inet.h>

namespace bulkhead::manager {

namespace {

using permissions::Kind;

std::vector<std::string> resolve_ipv4(const std::string& host) {
    if (network::is_ipv4_literal(host)) return {host};
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return {};
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
    std::vector<std::string> out;
    for (const addrinfo* at = found; at != nullptr; at = at->ai_next) {
        std::array<char, INET_ADDRSTRLEN> text{};
        sockaddr_in address{};
        std::copy_n(reinterpret_cast<const char*>(at->ai_addr), sizeof address, reinterpret_cast<char*>(&address));
        if (::inet_ntop(AF_INET, &address.sin_addr, text.data(), text.size()) != nullptr) {
            std::string item(text.data());
            if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
        }
    }
    return out;
}

}  // namespace

bool needs_network_device(const std::vector<permissions::Permission>& granted) {
    return std::any_of(granted.begin(), granted.end(), [](const permissions::Permission& permission) {
        return permission.kind == Kind::network || permission.kind == Kind::expose_port;
    });
}

network::AppRules rules_for(const std::string& app, const network::AppAddresses& addresses,
                            const std::vector<permissions::Permission>& granted, std::vector<std::string>& notes) {
    network::AppRules rules{app, addresses, false, {}};
    for (const permissions::Permission& permission : granted) {
        if (permission.kind != Kind::network) continue;
        if (permission.host.empty()) {
            rules.everywhere = true;
            continue;
        }
        const std::vector<std::string> addresses_found = resolve_ipv4(permission.host);
        if (addresses_found.empty()) {
            notes.push_back(permissions::format_permission(permission) + ": " + permission.host +
                            " has no IPv4 address now; it allows nothing");
        }
        for (const std::string& address : addresses_found) rules.destinations.push_back({address, permission.port});
    }
    return rules;
}

}  // namespace bulkhead::manager
