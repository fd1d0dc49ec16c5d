#include "control/frame.hpp"

#include <algorithm>

#include "base/text.hpp"

namespace bulkhead::control {

namespace {

constexpr char kMagic0 = 'B';
constexpr char kMagic1 = 'H';

std::uint32_t read_u32(std::string_view bytes) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) value = (value << 8U) | static_cast<std::uint8_t>(bytes[i]);
    return value;
}

}  // namespace

bool is_known_type(std::uint8_t type) noexcept {
    switch (static_cast<MessageType>(type)) {
        case MessageType::ping:
        case MessageType::status_request:
        case MessageType::shutdown:
        case MessageType::pong:
        case MessageType::status:
        case MessageType::output:
        case MessageType::exited:
        case MessageType::hello:
        case MessageType::log: return true;
    }
    return false;
}

std::string_view message_type_name(MessageType type) noexcept {
    switch (type) {
        case MessageType::ping: return "ping";
        case MessageType::status_request: return "status-request";
        case MessageType::shutdown: return "shutdown";
        case MessageType::pong: return "pong";
        case MessageType::status: return "status";
        case MessageType::output: return "output";
        case MessageType::exited: return "exited";
        case MessageType::hello: return "hello";
        case MessageType::log: return "log";
    }
    return "unknown";
}

Result<std::string> encode_frame(const Frame& frame) {
    if (frame.payload.size() > kMaxPayload) {
        return fail(ErrorCode::too_large, "control message payload of " + std::to_string(frame.payload.size()) +
                                              " bytes exceeds " + std::to_string(kMaxPayload));
    }
    std::string bytes;
    bytes.reserve(kHeaderBytes + frame.payload.size());
    bytes.push_back(kMagic0);
    bytes.push_back(kMagic1);
    bytes.push_back(static_cast<char>(kProtocolVersion));
    bytes.push_back(static_cast<char>(frame.type));
    const auto length = static_cast<std::uint32_t>(frame.payload.size());
    for (const unsigned shift : {24U, 16U, 8U, 0U}) bytes.push_back(static_cast<char>((length >> shift) & 0xFFU));
    bytes += frame.payload;
    return bytes;
}

void FrameDecoder::feed(std::string_view bytes) {
    // Compact before growing, so the buffer never holds more than one frame plus new input.
    if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    buffer_.append(bytes);
}

void FrameDecoder::skip(std::size_t count) {
    start_ += count;
    discarded_ += count;
}

Result<std::optional<Frame>> FrameDecoder::next() {
    const std::string_view pending = std::string_view(buffer_).substr(start_);
    if (pending.empty()) return std::optional<Frame>();
    // Resynchronise: anything before a magic is garbage.
    std::size_t magic = 0;
    while (magic < pending.size() &&
           !(pending[magic] == kMagic0 && (magic + 1 == pending.size() || pending[magic + 1] == kMagic1))) {
        ++magic;
    }
    if (magic > 0) {
        skip(magic);
        return fail(ErrorCode::parse, "control channel: " + std::to_string(magic) + " bytes before a frame skipped");
    }
    if (pending.size() < kHeaderBytes) return std::optional<Frame>();
    const auto version = static_cast<std::uint8_t>(pending[2]);
    const auto type = static_cast<std::uint8_t>(pending[3]);
    const std::uint32_t length = read_u32(pending.substr(4, 4));
    if (version != kProtocolVersion) {
        skip(2);
        return fail(ErrorCode::unsupported, "control channel: protocol version " + std::to_string(version) +
                                                " (this side speaks " + std::to_string(kProtocolVersion) + ")");
    }
    if (!is_known_type(type)) {
        skip(2);
        return fail(ErrorCode::parse, "control channel: unknown message type " + hex(type, 2));
    }
    if (length > kMaxPayload) {
        skip(2);
        return fail(ErrorCode::too_large, "control channel: a payload of " + std::to_string(length) +
                                              " bytes exceeds " + std::to_string(kMaxPayload));
    }
    if (pending.size() < kHeaderBytes + length) return std::optional<Frame>();
    Frame frame{static_cast<MessageType>(type), std::string(pending.substr(kHeaderBytes, length))};
    start_ += kHeaderBytes + length;
    return std::optional<Frame>(std::move(frame));
}

}  // namespace bulkhead::control
