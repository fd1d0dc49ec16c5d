// Framing of the host <-> guest control channel (a virtio-serial byte stream).
//
// A frame is an 8-byte header and a payload:
//   magic "BH" (0x42 0x48) | version (1) | type | payload length (u32, big-endian) | payload
// The magic lets a receiver find the next frame after garbage: a malformed frame is reported
// and skipped, never allowed to stop or crash either end. Payloads are at most kMaxPayload
// bytes, so a peer can never make the other side buffer more than one bounded frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::control {

inline constexpr std::uint8_t kProtocolVersion = 1;
inline constexpr std::size_t kHeaderBytes = 8;
inline constexpr std::size_t kMaxPayload = std::size_t{64} * 1024;

enum class MessageType : std::uint8_t {
    // host -> guest
    ping = 0x01,
    status_request = 0x02,
    shutdown = 0x03,
    // guest -> host
    pong = 0x81,
    status = 0x82,
    output = 0x83,
    exited = 0x84,
    hello = 0x85,
    log = 0x86,
};

// Whether `type` is one of the values above.
bool is_known_type(std::uint8_t type) noexcept;
std::string_view message_type_name(MessageType type) noexcept;

struct Frame {
    MessageType type = MessageType::ping;
    std::string payload;
};

// The bytes of one frame; fails with too_large for a payload above kMaxPayload.
Result<std::string> encode_frame(const Frame& frame);

// Cuts frames out of a byte stream that arrives in pieces of any size.
class FrameDecoder {
public:
    void feed(std::string_view bytes);

    // The next complete frame, nothing when more bytes are needed, or an error for a malformed
    // frame (unknown version or type, oversized length, bytes before a magic). After an error
    // the decoder has skipped past the bad bytes and can be asked again.
    Result<std::optional<Frame>> next();

    // Bytes thrown away as malformed so far.
    [[nodiscard]] std::size_t discarded() const noexcept { return discarded_; }
    // Bytes held waiting for the rest of a frame (at most kHeaderBytes + kMaxPayload).
    [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size() - start_; }

private:
    void skip(std::size_t count);

    std::string buffer_;
    std::size_t start_ = 0;
    std::size_t discarded_ = 0;
};

}  // namespace bulkhead::control
