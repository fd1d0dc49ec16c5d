// A minimal HTTP/1.0 server on 127.0.0.1 for tests: serves what a handler returns for each GET
// path (404 when it returns nothing) and records every request path in order.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "support/loopback.hpp"

namespace bulkhead::testing {

class HttpServer {
public:
    using Handler = std::function<std::optional<std::string>(const std::string& path)>;

    explicit HttpServer(Handler handler) : handler_(std::move(handler)) {}
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    ~HttpServer() = default;

    [[nodiscard]] std::string url(const std::string& path = "/") const {
        return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
    }
    [[nodiscard]] std::vector<std::string> requests() const {
        const std::lock_guard lock(mutex_);
        return requests_;
    }
    void clear_requests() {
        const std::lock_guard lock(mutex_);
        requests_.clear();
    }

private:
    void handle(int client) {
        std::string request;
        char buffer[4096];
        while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
            const ssize_t got = ::recv(client, buffer, sizeof buffer, 0);
            if (got <= 0) return;
            request.append(buffer, static_cast<std::size_t>(got));
        }
        const std::size_t first_space = request.find(' ');
        const std::size_t second_space = request.find(' ', first_space + 1);
        if (first_space == std::string::npos || second_space == std::string::npos) return;
        const std::string path = request.substr(first_space + 1, second_space - first_space - 1);
        {
            const std::lock_guard lock(mutex_);
            requests_.push_back(path);
        }
        const std::optional<std::string> body = handler_(path);
        const std::string response =
            body ? "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body->size()) + "\r\n\r\n" + *body
                 : std::string("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        std::size_t sent = 0;
        while (sent < response.size()) {
            const ssize_t put = ::send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
            if (put <= 0) return;
            sent += static_cast<std::size_t>(put);
        }
    }

    Handler handler_;
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
    LoopbackServer server_{[this](int client) { handle(client); }};  // last: stops first
};

}  // namespace bulkhead::testing
