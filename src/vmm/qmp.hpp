// A client for QEMU's QMP socket, used for lifecycle commands (quit). The VMM runs as the app's
// uid and may be compromised, so every exchange has a deadline and a size bound, and what it
// answers is parsed strictly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "json/value.hpp"

namespace bulkhead::vmm {

class QmpSession {
public:
    // Takes a connected stream socket; reads the greeting and enters command mode. Each call
    // has one deadline for all it reads, however the peer spaces its bytes.
    static Result<QmpSession> open(UniqueFd socket, int timeout_ms);

    // Runs `command` (no arguments) and returns its "return" value; a QMP error is an error
    // with QEMU's description. Asynchronous events on the way are skipped.
    Result<json::Value> execute(std::string_view command, int timeout_ms);
    // The same with an "arguments" object.
    Result<json::Value> execute(std::string_view command, const json::Value& arguments, int timeout_ms);

    // Asks QEMU to exit now (it flushes its disks first). Success once QEMU acknowledges or
    // closes the socket on its way out.
    Result<void> quit(int timeout_ms);

private:
    explicit QmpSession(UniqueFd socket) : socket_(std::move(socket)) {}
    Result<json::Value> read_message(std::int64_t deadline_ms);

    UniqueFd socket_;
    std::string buffer_;
    bool closed_ = false;
};

}  // namespace bulkhead::vmm
