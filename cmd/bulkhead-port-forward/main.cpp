// bulkhead-port-forward: relays a guest's exposed TCP ports to the host's loopback (the
// expose-port permission, docs/PERMISSIONS.md). bulkheadd starts it in the app's network
// namespace, as the app's uid with no capabilities, handing it the listening sockets it bound on
// 127.0.0.1; arguments are FD:GUEST_ADDRESS:GUEST_PORT, one per port.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "network/port_forward.hpp"

int main(int argc, char** argv) {
    try {
        if (::getuid() == 0 || ::geteuid() == 0) {
            (void)std::fputs("bulkhead-port-forward: refusing to run as root\n", stderr);
            return 2;
        }
        std::vector<bulkhead::network::ForwardedPort> ports;
        for (int i = 1; i < argc; ++i) {
            auto port = bulkhead::network::parse_forward_argument(argv[i]);
            if (!port) {
                (void)std::fprintf(stderr, "bulkhead-port-forward: %s\n", port.error().message.c_str());
                return 2;
            }
            ports.push_back(*port);
        }
        if (ports.empty()) {
            (void)std::fputs("usage: bulkhead-port-forward FD:GUEST_ADDRESS:GUEST_PORT...\n", stderr);
            return 2;
        }
        auto ran = bulkhead::network::run_port_forwarder(ports);
        (void)std::fprintf(stderr, "bulkhead-port-forward: %s\n", ran ? "stopped" : ran.error().message.c_str());
        return 1;
    } catch (const std::exception& unexpected) {
        (void)std::fprintf(stderr, "bulkhead-port-forward: internal error: %s\n", unexpected.what());
        return 1;
    }
}
