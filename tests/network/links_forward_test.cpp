// The app's links in real namespaces, and the port forwarder relaying real connections.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "base/process.hpp"
#include "network/app_link.hpp"
#include "network/namespaces.hpp"
#include "network/port_forward.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::network {
namespace {

std::string ip_in(int network_namespace, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/sbin/ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options;
    options.network_namespace = network_namespace;
    auto ran = run_program(argv, options);
    return ran ? ran->out : "";
}

TEST(AppLink, ConnectsTheAppNamespaceToTheProviderAndGoesAway) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    const testing::TempDir dir;
    const std::string provider_path = (dir.path() / "provider").string();
    ASSERT_TRUE(create_network_namespace(provider_path));
    auto provider = open_network_namespace(provider_path);
    ASSERT_TRUE(provider) << provider.error().message;
    const AppLink link{(dir.path() / "app").string(), provider->get(), *app_addresses(7)};
    for (int round = 0; round < 2; ++round) {  // a second set-up replaces the first
        auto tap = set_up_app_link(link);
        ASSERT_TRUE(tap) << tap.error().message;
        EXPECT_TRUE(tap->valid());
        auto app = open_network_namespace(link.app_namespace);
        ASSERT_TRUE(app);
        const std::string app_addresses_text = ip_in(app->get(), {"-4", "-o", "addr"});
        EXPECT_NE(app_addresses_text.find("vm0    inet 100.64.0.57/30"), std::string::npos) << app_addresses_text;
        EXPECT_NE(app_addresses_text.find("up0    inet 100.64.0.62/30"), std::string::npos) << app_addresses_text;
        EXPECT_NE(ip_in(app->get(), {"route"}).find("default via 100.64.0.61 dev up0"), std::string::npos);
        EXPECT_NE(ip_in(provider->get(), {"-4", "-o", "addr"}).find("bha7    inet 100.64.0.61/30"), std::string::npos);
        EXPECT_NE(ip_in(provider->get(), {"route"}).find("100.64.0.56/30 via 100.64.0.62 dev bha7"), std::string::npos);
        // The host's own namespace got nothing.
        EXPECT_EQ(testing::run_process({"/usr/sbin/ip", "link", "show", "bha7"}).exit_code, 1);
    }
    ASSERT_TRUE(tear_down_app_link(link));
    EXPECT_EQ(ip_in(provider->get(), {"link"}).find("bha7"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(link.app_namespace));
    EXPECT_FALSE(open_network_namespace(dir.path().string()));  // a directory is not a namespace
    ASSERT_TRUE(remove_network_namespace(provider_path));
}

std::uint16_t bound_port(int fd) {
    sockaddr_in address{};
    socklen_t size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    return ntohs(address.sin_port);
}

// Sends `text`, closes its sending side, and returns all that comes back.
std::string exchange(std::uint16_t port, const std::string& text) {
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return "refused";
    (void)!::write(fd.get(), text.data(), text.size());
    ::shutdown(fd.get(), SHUT_WR);
    std::string out;
    std::array<char, 4096> buffer{};
    for (ssize_t got = 0; (got = ::read(fd.get(), buffer.data(), buffer.size())) > 0;) {
        out.append(buffer.data(), static_cast<std::size_t>(got));
    }
    return out;
}

TEST(PortForward, RelaysEachConnectionBothWaysWithHalfClose) {
    // The "guest": answers each connection with what it read, once the client has finished.
    auto guest = listen_on_loopback(0);
    ASSERT_TRUE(guest);
    std::thread server([fd = guest->get()] {
        for (int served = 0; served < 4; ++served) {
            pollfd ready{fd, POLLIN, 0};
            if (::poll(&ready, 1, 10000) <= 0) return;
            const UniqueFd client(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC));
            const int flags = ::fcntl(client.get(), F_GETFL);
            ::fcntl(client.get(), F_SETFL, flags & ~O_NONBLOCK);
            std::string got;
            std::array<char, 4096> buffer{};
            for (ssize_t n = 0; (n = ::read(client.get(), buffer.data(), buffer.size())) > 0;) {
                got.append(buffer.data(), static_cast<std::size_t>(n));
            }
            const std::string answer = "got:" + got;
            (void)!::write(client.get(), answer.data(), answer.size());
        }
    });
    auto front = listen_on_loopback(0);
    ASSERT_TRUE(front);
    auto closed = listen_on_loopback(0);  // a port nothing will serve behind
    ASSERT_TRUE(closed);
    const std::uint16_t nothing = bound_port(closed->get());
    closed->reset();
    auto dead_end = listen_on_loopback(0);
    ASSERT_TRUE(dead_end);
    const pid_t forwarder = ::fork();
    if (forwarder == 0) {
        (void)run_port_forwarder(
            {{front->get(), "127.0.0.1", bound_port(guest->get())}, {dead_end->get(), "127.0.0.1", nothing}});
        ::_exit(1);
    }
    const std::string big(200000, 'x');  // more than the forwarder's buffer, so it must wait
    EXPECT_EQ(exchange(bound_port(front->get()), "hello"), "got:hello");
    EXPECT_EQ(exchange(bound_port(front->get()), big), "got:" + big);
    std::vector<std::thread> clients;
    std::vector<std::string> answers(2);
    for (std::size_t i = 0; i < answers.size(); ++i) {
        clients.emplace_back([&, i] { answers[i] = exchange(bound_port(front->get()), "n" + std::to_string(i)); });
    }
    for (auto& client : clients) client.join();
    EXPECT_EQ(answers[0], "got:n0");
    EXPECT_EQ(answers[1], "got:n1");
    // Nothing behind the port: the client's connection is closed at once.
    EXPECT_EQ(exchange(bound_port(dead_end->get()), "anyone?"), "");
    ::kill(forwarder, SIGKILL);
    ::waitpid(forwarder, nullptr, 0);
    server.join();
}

TEST(PortForward, ListensOnLoopbackOnly) {
    auto port = listen_on_loopback(0);
    ASSERT_TRUE(port);
    sockaddr_in address{};
    socklen_t size = sizeof address;
    ASSERT_EQ(::getsockname(port->get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
    EXPECT_EQ(ntohl(address.sin_addr.s_addr), INADDR_LOOPBACK);
}

}  // namespace
}  // namespace bulkhead::network
