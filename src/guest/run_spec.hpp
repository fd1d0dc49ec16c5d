// What the guest's init runs: the app's argv and environment, put into the VM's initramfs by
// the host as NUL-separated lists (/bulkhead/argv, /bulkhead/env). A format this small needs no
// parser in PID 1 beyond a bounded split.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::guest {

inline constexpr std::size_t kMaxListItems = 512;
inline constexpr std::size_t kMaxListBytes = std::size_t{256} * 1024;

// What the guest does when the app exits: power off, start it again after a failure, or
// always start it again (with a pause between starts, and a limit on quick failures).
enum class Restart { never, on_failure, always };

// The VM's network device, when it has one (it is granted network or expose-port): a static
// IPv4 address and default route, as /bulkhead/network holds them ("ADDRESS/PREFIX GATEWAY").
struct GuestNetwork {
    std::string address;
    int prefix = 30;
    std::string gateway;
};

// A host directory shared into the VM (a files grant): mounted from the virtio-fs device
// `tag` at /mnt/host<path> in the app's root, read-only unless writable. /bulkhead/shares holds
// one per line: "TAG ro|rw PATH".
struct GuestShare {
    std::string tag;
    std::string path;  // as on the host: absolute, no control characters
    bool writable = false;
    friend bool operator==(const GuestShare&, const GuestShare&) = default;
};

inline constexpr std::size_t kMaxShares = 16;
inline constexpr const char* kSharesRoot = "/mnt/host";

struct RunSpec {
    std::vector<std::string> argv;  // argv[0] is the absolute path of the program
    std::vector<std::string> env;   // "NAME=value"
    Restart restart = Restart::never;
    std::optional<GuestNetwork> network;
    std::vector<GuestShare> shares;
};

std::string format_guest_shares(const std::vector<GuestShare>& shares);
Result<std::vector<GuestShare>> parse_guest_shares(std::string_view text);

std::string format_guest_network(const GuestNetwork& network);
Result<GuestNetwork> parse_guest_network(std::string_view text);

// "never", "on-failure", "always": as /bulkhead/restart holds it.
std::string_view restart_name(Restart restart) noexcept;
Result<Restart> parse_restart(std::string_view text);

// Items each followed by one NUL; an empty list is empty bytes.
std::string join_nul_list(const std::vector<std::string>& items);
Result<std::vector<std::string>> split_nul_list(std::string_view bytes, std::string_view what);

// Checks argv (an absolute program path first) and env ("NAME=value", names unique).
Result<RunSpec> make_run_spec(std::vector<std::string> argv, std::vector<std::string> env);

}  // namespace bulkhead::guest
