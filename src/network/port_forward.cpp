#include "network/port_forward.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <list>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/text.hpp"
#include "network/addresses.hpp"

namespace bulkhead::network {

namespace {

constexpr std::size_t kBufferBytes = 65536;

// One direction of a connection: bytes read from one side and not yet written to the other.
struct Pipe {
    std::string pending;
    bool eof = false;   // the source has closed
    bool shut = false;  // the end of stream was passed on
};

struct Connection {
    UniqueFd client;
    UniqueFd guest;
    bool connected = false;
    Pipe to_guest;
    Pipe to_client;
    [[nodiscard]] bool finished() const { return to_guest.shut && to_client.shut; }
};

bool parse_port(const std::string& text, std::uint16_t& out) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos ||
        (text.size() > 1 && text[0] == '0')) {
        return false;
    }
    const unsigned long value = std::stoul(text);
    if (value == 0 || value > 65535) return false;
    out = static_cast<std::uint16_t>(value);
    return true;
}

UniqueFd connect_to_guest(const ForwardedPort& port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port.guest_port);
    if (!fd.valid() || ::inet_pton(AF_INET, port.guest_address.c_str(), &address.sin_addr) != 1) return {};
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS) {
        return {};
    }
    return fd;
}

// Moves what `from` has into `pipe` and what `pipe` holds into `to`; false on a hard error.
bool pump(int from, int to, Pipe& pipe, short from_events, short to_events) {
    if ((from_events & (POLLIN | POLLHUP)) != 0 && !pipe.eof && pipe.pending.size() < kBufferBytes) {
        std::array<char, 16384> buffer{};
        const ssize_t got = ::read(from, buffer.data(), std::min(buffer.size(), kBufferBytes - pipe.pending.size()));
        if (got == 0) pipe.eof = true;
        if (got < 0 && errno != EAGAIN && errno != EINTR) return false;
        if (got > 0) pipe.pending.append(buffer.data(), static_cast<std::size_t>(got));
    }
    if (!pipe.pending.empty() && (to_events & POLLOUT) != 0) {
        const ssize_t put = ::send(to, pipe.pending.data(), pipe.pending.size(), MSG_NOSIGNAL);
        if (put < 0 && errno != EAGAIN && errno != EINTR) return false;
        if (put > 0) pipe.pending.erase(0, static_cast<std::size_t>(put));
    }
    if (pipe.eof && pipe.pending.empty() && !pipe.shut) {
        (void)::shutdown(to, SHUT_WR);
        pipe.shut = true;
    }
    return true;
}

short wanted(const Pipe& in, const Pipe& out) {
    return static_cast<short>((!in.eof && in.pending.size() < kBufferBytes ? POLLIN : 0) |
                              (!out.pending.empty() ? POLLOUT : 0));
}

}  // namespace

Result<UniqueFd> listen_on_loopback(std::uint16_t port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Connections of an earlier forwarder may linger in TIME_WAIT on this port.
    const int reuse = 1;
    if (fd.valid()) (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd.get(), 64) != 0) {
        return fail(Error::from_errno(errno, "listening on 127.0.0.1:" + std::to_string(port)));
    }
    return fd;
}

std::string format_forward_argument(const ForwardedPort& port) {
    return concat({std::to_string(port.listener), ":", port.guest_address, ":", std::to_string(port.guest_port)});
}

Result<ForwardedPort> parse_forward_argument(const std::string& text) {
    const auto bad = [&] {
        return fail(ErrorCode::invalid_argument, "a forwarded port is FD:IPV4:PORT, not '" + text + "'");
    };
    const std::size_t first = text.find(':');
    const std::size_t last = text.rfind(':');
    if (first == std::string::npos || first == last) return bad();
    ForwardedPort port;
    const std::string fd_text = text.substr(0, first);
    std::uint16_t fd = 0;
    if (!parse_port(fd_text, fd) || fd < 3) return bad();
    port.listener = fd;
    port.guest_address = text.substr(first + 1, last - first - 1);
    if (!is_ipv4_literal(port.guest_address) || !parse_port(text.substr(last + 1), port.guest_port)) return bad();
    return port;
}

Result<void> run_port_forwarder(const std::vector<ForwardedPort>& ports) {
    std::list<Connection> connections;
    for (;;) {
        std::vector<pollfd> fds;
        for (const ForwardedPort& port : ports) {
            const short accepting = connections.size() < kMaxForwardedConnections ? short{POLLIN} : short{0};
            fds.push_back({port.listener, accepting, 0});
        }
        for (const Connection& c : connections) {
            // Until the guest side is connected there is nowhere to put the client's bytes.
            fds.push_back({c.client.get(), c.connected ? wanted(c.to_guest, c.to_client) : short{0}, 0});
            fds.push_back({c.guest.get(), c.connected ? wanted(c.to_client, c.to_guest) : short{POLLOUT}, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            return fail(Error::from_errno(errno, "poll"));
        }
        std::size_t at = ports.size();
        for (Connection& c : connections) {
            const short client_events = fds[at].revents;
            const short guest_events = fds[at + 1].revents;
            at += 2;
            bool ok = true;
            if (!c.connected && guest_events != 0) {
                int error = 0;
                socklen_t size = sizeof error;
                ok = ::getsockopt(c.guest.get(), SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0;
                c.connected = ok;
            }
            if (ok && c.connected) {
                ok = pump(c.client.get(), c.guest.get(), c.to_guest, client_events, guest_events) &&
                     pump(c.guest.get(), c.client.get(), c.to_client, guest_events, client_events);
            }
            if (!ok || ((client_events | guest_events) & POLLERR) != 0) {
                c.to_guest.shut = c.to_client.shut = true;  // dropped, both ways
            }
        }
        connections.remove_if([](const Connection& c) { return c.finished(); });
        for (std::size_t i = 0; i < ports.size(); ++i) {
            if ((fds[i].revents & POLLIN) == 0) continue;
            UniqueFd client(::accept4(ports[i].listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            if (!client.valid()) continue;
            UniqueFd guest = connect_to_guest(ports[i]);
            if (!guest.valid()) continue;  // the client sees its connection closed
            connections.push_back(Connection{std::move(client), std::move(guest), false, {}, {}});
        }
    }
}

}  // namespace bulkhead::network
