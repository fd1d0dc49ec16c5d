#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "fetch/fetcher.hpp"
#include "support/http_server.hpp"
#include "support/run_process.hpp"
#include "support/socks5_server.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::fetch {
namespace {

using bulkhead::testing::HttpServer;
using bulkhead::testing::TempDir;

TEST(HttpFetcher, FetchesBodiesAndMaps404ToNotFound) {
    HttpServer server([](const std::string& path) -> std::optional<std::string> {
        if (path == "/small") return std::string("hello");
        if (path == "/big") return std::string(20000, 'x');
        return std::nullopt;
    });
    const auto fetcher = make_http_fetcher();
    EXPECT_EQ(*fetcher->fetch_bytes(server.url("/small"), 100), "hello");
    auto missing = fetcher->fetch_bytes(server.url("/missing"), 100);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
    auto big = fetcher->fetch_bytes(server.url("/big"), 1000);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code, ErrorCode::too_large);
    EXPECT_NE(big.error().message.find("larger than the limit of 1000 bytes"), std::string::npos);
}

TEST(HttpFetcher, KeepsPercentEscapesAndDotSegmentsVerbatim) {
    HttpServer server([](const std::string&) -> std::optional<std::string> { return std::string("ok"); });
    const auto fetcher = make_http_fetcher();
    ASSERT_TRUE(fetcher->fetch_bytes(server.url("/test%5Bx%5D/metadata/1...%2Fdelegatedrole.json"), 10));
    EXPECT_EQ(server.requests().back(), "/test%5Bx%5D/metadata/1...%2Fdelegatedrole.json");
}

TEST(HttpFetcher, IgnoresProxyEnvironmentVariables) {
    HttpServer server([](const std::string&) -> std::optional<std::string> { return std::string("direct"); });
    ::setenv("http_proxy", "http://127.0.0.1:9", 1);  // would fail if used
    ::setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
    auto fetched = make_http_fetcher()->fetch_bytes(server.url("/x"), 10);
    ::unsetenv("http_proxy");
    ::unsetenv("ALL_PROXY");
    ASSERT_TRUE(fetched) << fetched.error().message;
    EXPECT_EQ(*fetched, "direct");
}

TEST(HttpFetcher, Socks5hLeavesNameResolutionToTheProxy) {
    HttpServer server([](const std::string&) -> std::optional<std::string> { return std::string("via proxy"); });
    const int http_port = std::stoi(server.url().substr(server.url().rfind(':') + 1));
    testing::Socks5Server proxy(http_port);
    HttpOptions options;
    options.proxy = "socks5h://127.0.0.1:" + std::to_string(proxy.port());
    // The .onion name cannot be resolved locally; only a proxy that resolves it can connect.
    auto fetched = make_http_fetcher(options)->fetch_bytes(
        "http://bulkheadmirrorexampleexampleexampleexampleexampleexample.onion:" + std::to_string(http_port) + "/x",
        100);
    ASSERT_TRUE(fetched) << fetched.error().message;
    EXPECT_EQ(*fetched, "via proxy");
    ASSERT_EQ(proxy.destinations().size(), 1U);
    EXPECT_EQ(proxy.destinations()[0], "domain:bulkheadmirrorexampleexampleexampleexampleexampleexample.onion");
}

// An openssl s_server as TLS peer, limited to one protocol version.
class TlsPeer {
public:
    TlsPeer(const TempDir& dir, const std::string& protocol_flag) {
        const std::string key = (dir.path() / "key.pem").string();
        cert_ = (dir.path() / "cert.pem").string();
        const auto made =
            testing::run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert_, "-days", "1",
                                  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
        if (made.exit_code != 0) throw std::runtime_error("openssl req failed: " + made.err);
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::execl("/usr/bin/openssl", "openssl", "s_server", "-accept", "0", "-cert", cert_.c_str(), "-key",
                    key.c_str(), protocol_flag.c_str(), "-www", nullptr);
            ::_exit(127);
        }
        ::close(out[1]);
        std::string output;
        const std::regex accept_line(R"(ACCEPT \S*:(\d+))");
        std::smatch match;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!std::regex_search(output, match, accept_line) && std::chrono::steady_clock::now() < deadline) {
            pollfd waiting{out[0], POLLIN, 0};
            if (::poll(&waiting, 1, 100) <= 0) continue;
            char buffer[256];
            const ssize_t got = ::read(out[0], buffer, sizeof buffer);
            if (got <= 0) break;
            output.append(buffer, static_cast<std::size_t>(got));
        }
        ::close(out[0]);
        if (!std::regex_search(output, match, accept_line)) {
            stop();
            throw std::runtime_error("s_server did not start: " + output);
        }
        port_ = std::stoi(match[1].str());
    }
    TlsPeer(const TlsPeer&) = delete;
    TlsPeer& operator=(const TlsPeer&) = delete;
    ~TlsPeer() { stop(); }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    [[nodiscard]] std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }
    [[nodiscard]] const std::string& ca_file() const { return cert_; }

private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::string cert_;
};

TEST(HttpFetcher, SpeaksTls13) {
    const TempDir dir;
    const TlsPeer peer(dir, "-tls1_3");
    HttpOptions options;
    options.ca_file = peer.ca_file();
    auto fetched = make_http_fetcher(options)->fetch_bytes(peer.url(), 1 << 20);
    ASSERT_TRUE(fetched) << fetched.error().message;
    EXPECT_NE(fetched->find("<HTML>"), std::string::npos);
}

TEST(HttpFetcher, RefusesTls12) {
    const TempDir dir;
    const TlsPeer peer(dir, "-tls1_2");
    HttpOptions options;
    options.ca_file = peer.ca_file();
    auto fetched = make_http_fetcher(options)->fetch_bytes(peer.url(), 1 << 20);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error().code, ErrorCode::io) << fetched.error().message;
}

TEST(HttpFetcher, RefusesAnUntrustedCertificate) {
    const TempDir dir;
    const TlsPeer peer(dir, "-tls1_3");
    auto fetched = make_http_fetcher()->fetch_bytes(peer.url(), 1 << 20);  // system store only
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error().code, ErrorCode::io);
}

}  // namespace
}  // namespace bulkhead::fetch
