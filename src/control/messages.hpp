// The messages of the control channel, each with a fixed, strictly checked payload layout
// (integers big-endian). The host sends ping, status-request and shutdown; the guest's init
// (bulkhead-guest) sends hello once, then pong, status, the app's output, log lines and, when
// the app ends, exited.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "base/result.hpp"
#include "control/frame.hpp"

namespace bulkhead::control {

inline constexpr std::size_t kMaxLogBytes = 4096;
inline constexpr std::size_t kMaxVersionBytes = 64;

struct Ping {
    std::uint64_t nonce = 0;
};
struct Pong {
    std::uint64_t nonce = 0;
};
struct StatusRequest {};
// Asks the guest to stop the app (SIGTERM, then SIGKILL after a grace period) and power off.
struct Shutdown {};

enum class AppState : std::uint8_t { starting = 0, running = 1, exited = 2 };

struct Status {
    AppState state = AppState::starting;
    std::uint32_t app_pid = 0;  // in the guest; 0 when not running
    std::uint64_t uptime_ms = 0;
};

enum class Stream : std::uint8_t { out = 1, err = 2 };

struct Output {
    Stream stream = Stream::out;
    std::string data;  // 1 to kMaxPayload - 1 bytes, as the app wrote them
};

struct Exited {
    bool signalled = false;
    std::uint32_t code = 0;   // exit status 0-255, or the signal number 1-64
    bool restarting = false;  // the guest starts the app again (its restart policy); no shutdown follows
};

struct Hello {
    std::uint8_t protocol = kProtocolVersion;
    std::string guest_version;  // printable ASCII, at most kMaxVersionBytes
};

struct Log {
    std::string text;  // at most kMaxLogBytes; shown escaped, never interpreted
};

using Message = std::variant<Ping, Pong, StatusRequest, Shutdown, Status, Output, Exited, Hello, Log>;

Result<Frame> to_frame(const Message& message);
Result<Message> from_frame(const Frame& frame);

// Encodes a message straight to the bytes of its frame.
Result<std::string> encode(const Message& message);

}  // namespace bulkhead::control
