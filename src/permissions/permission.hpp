// One permission as the user grants it, in its text form (docs/PERMISSIONS.md, issue 6):
//   network                     all destinations (through the provider's NAT)
//   network:HOST:PORT           only this destination (an allow-list entry; IPv6 as [addr])
//   expose-port:GUEST:HOST      the guest's TCP port GUEST on the host's 127.0.0.1:HOST (>= 1024)
//   files:/PATH[:ro|:rw]        a host directory shared into the VM, read-only unless :rw
//   usb:VVVV:PPPP               a USB device by vendor and product id (hex)
//   clipboard, display, audio-out, microphone, camera
// Parsing is strict and the text form canonical: format(parse(t)) is t for every accepted
// canonical t, and parse(format(p)) is p for every permission.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "permissions/kinds.hpp"

namespace bulkhead::permissions {

struct Permission {
    Kind kind = Kind::network;
    std::string host;             // network with a destination: a DNS name, IPv4 or [IPv6]
    std::uint16_t port = 0;       // network: destination port; expose-port: guest port
    std::uint16_t host_port = 0;  // expose-port: the loopback port on the host
    std::string path;             // files
    bool writable = false;        // files
    std::uint16_t vendor = 0;     // usb
    std::uint16_t product = 0;    // usb

    friend bool operator==(const Permission&, const Permission&) = default;
};

Result<Permission> parse_permission(std::string_view text);
std::string format_permission(const Permission& permission);

// Whether this build enforces the kind (network, expose-port, files); the others are refused with a clear
// "not available yet" rather than pretended.
bool enforceable(Kind kind) noexcept;

}  // namespace bulkhead::permissions
