#include "vmm/qmp.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::vmm {

namespace {

constexpr std::size_t kMaxMessageBytes = std::size_t{64} * 1024;
constexpr int kMaxSkippedEvents = 64;

std::int64_t monotonic_ms() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

}  // namespace

Result<json::Value> QmpSession::read_message(std::int64_t deadline) {
    for (;;) {
        if (const std::size_t end = buffer_.find('\n'); end != std::string::npos) {
            const std::string line = buffer_.substr(0, end);
            buffer_.erase(0, end + 1);
            std::string_view text(line);
            if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
            auto message = json::parse(text);
            if (!message)
                return fail(ErrorCode::parse, "QMP sent something that is not JSON: " + message.error().message);
            if (!message->is_object()) return fail(ErrorCode::parse, "QMP sent a message that is not an object");
            return message;
        }
        if (buffer_.size() > kMaxMessageBytes) return fail(ErrorCode::too_large, "QMP sent a message over 64 KiB");
        const std::int64_t left = deadline - monotonic_ms();
        if (left <= 0) return fail(ErrorCode::timeout, "QMP did not answer in time");
        pollfd ready{socket_.get(), POLLIN, 0};
        const int polled = ::poll(&ready, 1, static_cast<int>(left));
        if (polled < 0 && errno != EINTR) return fail(Error::from_errno(errno, "waiting for QMP"));
        if (polled <= 0) continue;
        std::array<char, 4096> chunk{};
        const ssize_t got = ::recv(socket_.get(), chunk.data(), chunk.size(), MSG_DONTWAIT);
        if (got == 0) {
            closed_ = true;
            return fail(ErrorCode::io, "QMP closed the connection");
        }
        if (got < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return fail(Error::from_errno(errno, "reading from QMP"));
        }
        buffer_.append(chunk.data(), static_cast<std::size_t>(got));
    }
}

Result<QmpSession> QmpSession::open(UniqueFd socket, int timeout_ms) {
    QmpSession session(std::move(socket));
    // One deadline for the whole exchange: a VMM that trickles events cannot stretch it.
    const std::int64_t deadline = monotonic_ms() + timeout_ms;
    auto greeting = session.read_message(deadline);
    if (!greeting) return fail(greeting.error());
    if (greeting->find("QMP") == nullptr) return fail(ErrorCode::parse, "the QMP socket did not greet as QMP");
    auto negotiated =
        session.execute("qmp_capabilities", static_cast<int>(std::max<std::int64_t>(0, deadline - monotonic_ms())));
    if (!negotiated) return fail(negotiated.error());
    return session;
}

Result<json::Value> QmpSession::execute(std::string_view command, int timeout_ms) {
    return execute(command, json::Value(), timeout_ms);
}

Result<json::Value> QmpSession::execute(std::string_view command, const json::Value& arguments, int timeout_ms) {
    json::Object call{{"execute", json::Value(std::string(command))}};
    if (arguments.is_object()) call.emplace_back("arguments", arguments);
    const std::string request = json::to_json(json::Value(std::move(call))) + "\n";
    const std::int64_t deadline = monotonic_ms() + timeout_ms;
    if (auto sent = write_all(socket_.get(), request, "the QMP socket"); !sent) return fail(sent.error());
    for (int skipped = 0; skipped <= kMaxSkippedEvents; ++skipped) {
        auto message = read_message(deadline);
        if (!message) return fail(message.error());
        if (const json::Value* answer = message->find("return")) return *answer;
        if (const json::Value* error = message->find("error")) {
            const json::Value* description = error->is_object() ? error->find("desc") : nullptr;
            return fail(ErrorCode::io,
                        concat({"QMP refused ", command, ": ",
                                description != nullptr && description->is_string() ? description->as_string()
                                                                                   : std::string("(no description)")}));
        }
        if (message->find("event") == nullptr) return fail(ErrorCode::parse, "QMP sent a message of no known kind");
    }
    return fail(ErrorCode::too_large, "QMP sent only events");
}

Result<void> QmpSession::quit(int timeout_ms) {
    auto answered = execute("quit", timeout_ms);
    if (answered) return {};
    // QEMU may be gone before its answer reaches us.
    if (closed_) return {};
    return fail(answered.error());
}

}  // namespace bulkhead::vmm
