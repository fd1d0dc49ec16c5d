// expose-port: a guest's TCP port on the host's loopback. bulkheadd binds 127.0.0.1:HOST in the
// host's namespace and starts the forwarder in the app's network namespace, as the app's uid
// and without capabilities, with those listening sockets: each accepted connection is relayed
// to the guest's address and port, which only the app namespace can reach. The forwarder can
// open no other listener on the host and reach nothing but what the app namespace routes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::network {

inline constexpr std::size_t kMaxForwardedConnections = 64;

struct ForwardedPort {
    int listener = -1;  // listening, in the host's namespace
    std::string guest_address;
    std::uint16_t guest_port = 0;
};

// A listening TCP socket on 127.0.0.1:port (never another address), non-blocking.
Result<UniqueFd> listen_on_loopback(std::uint16_t port);

// "FD:ADDRESS:PORT", the forwarder's argument for one port.
std::string format_forward_argument(const ForwardedPort& port);
Result<ForwardedPort> parse_forward_argument(const std::string& text);

// Relays connections until the process is killed; returns only on a failure of its own.
Result<void> run_port_forwarder(const std::vector<ForwardedPort>& ports);

}  // namespace bulkhead::network
