// Network namespaces bulkheadd makes and keeps: each one is held by a bind mount of its nsfs
// file at a path (as `ip netns` does), so it outlives the process that made it and a restarted
// bulkheadd finds it again.
#pragma once

#include <functional>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::network {

// A new, empty network namespace (only a loopback device, down) held at `path`, which must not
// exist yet. Needs CAP_SYS_ADMIN.
Result<void> create_network_namespace(const std::string& path);

// Detaches the namespace held at `path` and removes the file; nothing there is not an error.
// The namespace, with its devices, goes once nothing else holds it.
Result<void> remove_network_namespace(const std::string& path);

// Opens the namespace held at `path`, and checks that it is one.
Result<UniqueFd> open_network_namespace(const std::string& path);

inline constexpr int kNothingToPass = 0x7fffffff;

// Runs `body` in a child process that has entered `network_namespace`; the descriptor it
// returns is passed back (an invalid one when it returns kNothingToPass). Sockets and devices it opens belong to that
// namespace for good, wherever their descriptor goes. `body` returns -errno on failure.
Result<UniqueFd> inside_network_namespace(int network_namespace, const std::function<int()>& body,
                                          const std::string& what);

// A tap device named `name` in `network_namespace`, without packet information headers: the
// VMM's end of the app's network. It goes away when its last descriptor is closed.
Result<UniqueFd> create_tap(int network_namespace, const std::string& name);

// Turns IPv4 forwarding on in `network_namespace`.
Result<void> enable_forwarding(int network_namespace);

// An app namespace only routes IPv4: IPv6 is off on every interface (no addresses, no router
// advertisements taken from the guest), and IPv4 forwarding on.
Result<void> prepare_app_namespace(int network_namespace);

}  // namespace bulkhead::network
