#include "control/messages.hpp"

#include <algorithm>

namespace bulkhead::control {

namespace {

void put_u32(std::string& out, std::uint32_t value) {
    for (const unsigned shift : {24U, 16U, 8U, 0U}) out.push_back(static_cast<char>((value >> shift) & 0xFFU));
}

void put_u64(std::string& out, std::uint64_t value) {
    for (unsigned shift = 64; shift > 0; shift -= 8) out.push_back(static_cast<char>((value >> (shift - 8)) & 0xFFU));
}

std::uint64_t get_uint(std::string_view bytes) {
    std::uint64_t value = 0;
    for (const char byte : bytes) value = (value << 8U) | static_cast<std::uint8_t>(byte);
    return value;
}

Failure bad(MessageType type, const std::string& what) {
    return fail(ErrorCode::parse, "control message " + std::string(message_type_name(type)) + ": " + what);
}

bool printable_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

struct Encoder {
    Frame operator()(const Ping& ping) const {
        Frame frame{MessageType::ping, {}};
        put_u64(frame.payload, ping.nonce);
        return frame;
    }
    Frame operator()(const Pong& pong) const {
        Frame frame{MessageType::pong, {}};
        put_u64(frame.payload, pong.nonce);
        return frame;
    }
    Frame operator()(const StatusRequest& /*request*/) const { return {MessageType::status_request, {}}; }
    Frame operator()(const Shutdown& /*shutdown*/) const { return {MessageType::shutdown, {}}; }
    Frame operator()(const Status& status) const {
        Frame frame{MessageType::status, {}};
        frame.payload.push_back(static_cast<char>(status.state));
        put_u32(frame.payload, status.app_pid);
        put_u64(frame.payload, status.uptime_ms);
        return frame;
    }
    Frame operator()(const Output& output) const {
        Frame frame{MessageType::output, {}};
        frame.payload.push_back(static_cast<char>(output.stream));
        frame.payload += output.data;
        return frame;
    }
    Frame operator()(const Exited& exited) const {
        Frame frame{MessageType::exited, {}};
        frame.payload.push_back(static_cast<char>(exited.signalled ? 1 : 0));
        put_u32(frame.payload, exited.code);
        frame.payload.push_back(static_cast<char>(exited.restarting ? 1 : 0));
        return frame;
    }
    Frame operator()(const Hello& hello) const {
        Frame frame{MessageType::hello, {}};
        frame.payload.push_back(static_cast<char>(hello.protocol));
        frame.payload += hello.guest_version;
        return frame;
    }
    Frame operator()(const Log& log) const { return {MessageType::log, log.text}; }
};

}  // namespace

Result<Frame> to_frame(const Message& message) {
    Frame frame = std::visit(Encoder{}, message);
    // Encoding checks what decoding checks, so neither side can send what the other refuses.
    if (auto back = from_frame(frame); !back) return fail(back.error());
    return frame;
}

Result<std::string> encode(const Message& message) {
    auto frame = to_frame(message);
    if (!frame) return fail(frame.error());
    return encode_frame(*frame);
}

Result<Message> from_frame(const Frame& frame) {
    const std::string_view payload = frame.payload;
    const MessageType type = frame.type;
    auto exact = [&](std::size_t size) -> Result<void> {
        if (payload.size() != size) {
            return bad(type,
                       "payload is " + std::to_string(payload.size()) + " bytes, expected " + std::to_string(size));
        }
        return {};
    };
    switch (type) {
        case MessageType::ping:
        case MessageType::pong: {
            if (auto checked = exact(8); !checked) return fail(checked.error());
            if (type == MessageType::ping) return Message(Ping{get_uint(payload)});
            return Message(Pong{get_uint(payload)});
        }
        case MessageType::status_request:
        case MessageType::shutdown: {
            if (auto checked = exact(0); !checked) return fail(checked.error());
            if (type == MessageType::shutdown) return Message(Shutdown{});
            return Message(StatusRequest{});
        }
        case MessageType::status: {
            if (auto checked = exact(13); !checked) return fail(checked.error());
            const auto state = static_cast<std::uint8_t>(payload[0]);
            if (state > static_cast<std::uint8_t>(AppState::exited)) return bad(type, "unknown app state");
            return Message(Status{static_cast<AppState>(state),
                                  static_cast<std::uint32_t>(get_uint(payload.substr(1, 4))),
                                  get_uint(payload.substr(5, 8))});
        }
        case MessageType::output: {
            if (payload.size() < 2) return bad(type, "no data");
            const auto stream = static_cast<std::uint8_t>(payload[0]);
            if (stream != 1 && stream != 2) return bad(type, "unknown stream");
            return Message(Output{static_cast<Stream>(stream), std::string(payload.substr(1))});
        }
        case MessageType::exited: {
            if (auto checked = exact(6); !checked) return fail(checked.error());
            const auto kind = static_cast<std::uint8_t>(payload[0]);
            const auto code = static_cast<std::uint32_t>(get_uint(payload.substr(1, 4)));
            const auto restarting = static_cast<std::uint8_t>(payload[5]);
            if (kind > 1) return bad(type, "unknown kind of exit");
            if (restarting > 1) return bad(type, "restarting is neither 0 nor 1");
            if (kind == 0 && code > 255) return bad(type, "exit status above 255");
            if (kind == 1 && (code < 1 || code > 64)) return bad(type, "signal number outside 1-64");
            return Message(Exited{kind == 1, code, restarting == 1});
        }
        case MessageType::hello: {
            if (payload.empty()) return bad(type, "no protocol version");
            const std::string_view version = payload.substr(1);
            if (version.size() > kMaxVersionBytes || !printable_ascii(version)) {
                return bad(type, "guest version is not short printable ASCII");
            }
            return Message(Hello{static_cast<std::uint8_t>(payload[0]), std::string(version)});
        }
        case MessageType::log: {
            if (payload.size() > kMaxLogBytes)
                return bad(type, "longer than " + std::to_string(kMaxLogBytes) + " bytes");
            return Message(Log{std::string(payload)});
        }
    }
    return bad(type, "unknown type");
}

}  // namespace bulkhead::control
