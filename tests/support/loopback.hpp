// Test servers on 127.0.0.1: a listening socket with a port the kernel picks, and a thread that
// accepts connections one at a time and hands each to a handler.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace bulkhead::testing {

// Returns (listening fd, port).
inline std::pair<int, int> listen_on_loopback(int backlog = 16) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener, backlog) != 0) {
        if (listener >= 0) ::close(listener);
        throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    socklen_t length = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    return {listener, ntohs(address.sin_port)};
}

// Declare it as the last member of the server that owns it, so that it stops (and no handler
// runs any more) before the rest of that server is destroyed.
class LoopbackServer {
public:
    explicit LoopbackServer(std::function<void(int client)> handle) : handle_(std::move(handle)) {
        std::tie(listener_, port_) = listen_on_loopback();
        thread_ = std::thread([this] { serve(); });
    }
    LoopbackServer(const LoopbackServer&) = delete;
    LoopbackServer& operator=(const LoopbackServer&) = delete;
    ~LoopbackServer() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }

    [[nodiscard]] int port() const { return port_; }

private:
    void serve() {
        while (!stop_) {
            pollfd waiting{listener_, POLLIN, 0};
            if (::poll(&waiting, 1, 50) <= 0) continue;
            const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            handle_(client);
            ::close(client);
        }
    }

    std::function<void(int)> handle_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace bulkhead::testing
