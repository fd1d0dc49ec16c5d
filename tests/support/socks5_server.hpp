// A minimal SOCKS5 proxy on 127.0.0.1 for tests (no authentication, CONNECT only). It records
// the destination exactly as the client sent it, so a test can tell whether the client resolved
// the host name itself (SOCKS5) or left it to the proxy (SOCKS5h, as onion services need). Every
// destination is connected to 127.0.0.1:`forward_port`: nothing leaves the machine.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "support/loopback.hpp"

namespace bulkhead::testing {

class Socks5Server {
public:
    explicit Socks5Server(int forward_port) : forward_port_(forward_port) {}
    Socks5Server(const Socks5Server&) = delete;
    Socks5Server& operator=(const Socks5Server&) = delete;
    ~Socks5Server() = default;

    [[nodiscard]] int port() const { return server_.port(); }
    // "domain:NAME" or "ipv4:A.B.C.D" for each CONNECT request.
    [[nodiscard]] std::vector<std::string> destinations() const {
        const std::lock_guard lock(mutex_);
        return destinations_;
    }

private:
    static bool read_exact(int fd, unsigned char* into, std::size_t count) {
        std::size_t got = 0;
        while (got < count) {
            const ssize_t n = ::recv(fd, into + got, count - got, 0);
            if (n <= 0) return false;
            got += static_cast<std::size_t>(n);
        }
        return true;
    }

    void handle(int client) {
        unsigned char header[2];
        if (!read_exact(client, header, 2) || header[0] != 5) return;
        std::vector<unsigned char> methods(header[1]);
        if (!read_exact(client, methods.data(), methods.size())) return;
        const unsigned char no_auth[2] = {5, 0};
        ::send(client, no_auth, 2, MSG_NOSIGNAL);
        unsigned char request[4];
        if (!read_exact(client, request, 4) || request[1] != 1) return;  // CONNECT only
        std::string destination;
        if (request[3] == 3) {
            unsigned char length = 0;
            if (!read_exact(client, &length, 1)) return;
            std::string name(length, '\0');
            if (!read_exact(client, reinterpret_cast<unsigned char*>(name.data()), length)) return;
            destination = "domain:" + name;
        } else if (request[3] == 1) {
            unsigned char ip[4];
            if (!read_exact(client, ip, 4)) return;
            destination = "ipv4:" + std::to_string(ip[0]) + "." + std::to_string(ip[1]) + "." + std::to_string(ip[2]) +
                          "." + std::to_string(ip[3]);
        } else {
            return;
        }
        unsigned char port_bytes[2];
        if (!read_exact(client, port_bytes, 2)) return;
        {
            const std::lock_guard lock(mutex_);
            destinations_.push_back(destination);
        }
        const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(static_cast<std::uint16_t>(forward_port_));
        if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(upstream);
            return;
        }
        const unsigned char granted[10] = {5, 0, 0, 1, 127, 0, 0, 1, 0, 0};
        ::send(client, granted, sizeof granted, MSG_NOSIGNAL);
        relay(client, upstream);
        ::close(upstream);
    }

    static void relay(int a, int b) {
        pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        char buffer[8192];
        for (;;) {
            if (::poll(fds, 2, 5000) <= 0) return;
            for (int i = 0; i < 2; ++i) {
                if (fds[i].revents == 0) continue;
                const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
                if (n <= 0) return;
                if (::send(fds[1 - i].fd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) return;
            }
        }
    }

    int forward_port_;
    mutable std::mutex mutex_;
    std::vector<std::string> destinations_;
    LoopbackServer server_{[this](int client) { handle(client); }};  // last: stops first
};

}  // namespace bulkhead::testing
