// Network permissions end to end, with real VMs and real namespaces: the "internet" is a test
// server in a network namespace of its own, behind a network-provider namespace that bulkheadd
// is given; no outside address is ever used. No grant: no network device and nothing reached;
// an allow-list entry: only that address and port; `network`: everything, granted live; a
// revoke on the running VM cuts its traffic within a second; another app's VM is never
// reachable; the audit log holds exactly what happened. Needs root.
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>

#include "base/unique_fd.hpp"
#include "support/proc_status.hpp"
#include "support/run_process.hpp"
#include "vm/bulkheadd_fixture.hpp"

namespace bulkhead {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kServer = "192.0.2.1";  // the test "internet" (TEST-NET-1, only in our namespace)
constexpr int kAllowedPort = 8080;
constexpr int kOtherPort = 8081;

// Tries both ports about three times a second and says what it reached.
constexpr const char* kProbeScript =
    "busybox cat /proc/net/dev; while true; do for p in 8080 8081; do "
    "if echo ping | busybox nc -w 1 192.0.2.1 $p 2>/dev/null | busybox grep -q pong; "
    "then echo reach-$p-yes; else echo reach-$p-no; fi; done; busybox sleep 0.3; done";

testing::ProcessResult ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/sbin/ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_process(argv);
}

// A server on kServer:port inside the "internet" namespace that answers "pong" and notes when
// each connection came.
class PongServer {
public:
    PongServer(const std::string& internet, int port) {
        const UniqueFd home(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
        const UniqueFd there(::open(("/run/netns/" + internet).c_str(), O_RDONLY | O_CLOEXEC));
        // Only this thread enters the namespace, and only to make the socket.
        EXPECT_EQ(::setns(there.get(), CLONE_NEWNET), 0);
        listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        EXPECT_EQ(::setns(home.get(), CLONE_NEWNET), 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, kServer, &address.sin_addr);
        const int yes = 1;
        ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << port;
        EXPECT_EQ(::listen(listener_.get(), 64), 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~PongServer() {
        stop_ = true;
        thread_.join();
    }
    PongServer(const PongServer&) = delete;
    PongServer& operator=(const PongServer&) = delete;
    PongServer(PongServer&&) = delete;
    PongServer& operator=(PongServer&&) = delete;

    std::vector<Clock::time_point> connections() {
        const std::lock_guard lock(mutex_);
        return connections_;
    }
    std::size_t count_since(Clock::time_point since) {
        std::size_t count = 0;
        for (const auto& at : connections()) count += at >= since ? 1U : 0U;
        return count;
    }

private:
    void serve() {
        while (!stop_) {
            pollfd ready{listener_.get(), POLLIN, 0};
            if (::poll(&ready, 1, 100) <= 0) continue;
            const UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!client.valid()) continue;
            {
                const std::lock_guard lock(mutex_);
                connections_.push_back(Clock::now());
            }
            (void)!::write(client.get(), "pong\n", 5);
        }
    }

    UniqueFd listener_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<Clock::time_point> connections_;
};

// Runs `bulkhead app ARGS` as the user nobody (a desktop user of the test's bulkheadd) and
// returns its exit status and stderr.
std::pair<int, std::string> as_nobody(const std::string& socket, const std::vector<std::string>& args) {
    std::array<int, 2> errors{};
    if (::pipe(errors.data()) != 0) return {-1, ""};
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(errors[1], 2);
        const int quiet = ::open("/dev/null", O_WRONLY);
        ::dup2(quiet, 1);
        if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
        std::vector<std::string> all = {kBin + "/bulkhead", "app", "--socket", socket};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (std::string& arg : all) argv.push_back(arg.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(4);
    }
    ::close(errors[1]);
    std::string said;
    std::array<char, 4096> buffer{};
    for (ssize_t got = 0; (got = ::read(errors[0], buffer.data(), buffer.size())) > 0;) {
        said.append(buffer.data(), static_cast<std::size_t>(got));
    }
    ::close(errors[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, said};
}

class AppNetwork : public Bulkheadd {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "namespaces and bulkheadd need root";
        const std::string tag = std::to_string(::getpid() % 100000);
        provider = "bhp" + tag;
        internet = "bhi" + tag;
        ASSERT_EQ(ip({"netns", "add", provider}).exit_code, 0);
        ASSERT_EQ(ip({"netns", "add", internet}).exit_code, 0);
        // provider "uplink" <-> internet "eth0": the provider's default route leads there.
        const std::vector<std::vector<std::string>> setup = {
            {"-n", provider, "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", internet},
            {"-n", provider, "addr", "add", "192.0.2.2/24", "dev", "uplink"},
            {"-n", provider, "link", "set", "uplink", "up"},
            {"-n", provider, "route", "add", "default", "via", kServer},
            {"-n", internet, "addr", "add", std::string(kServer) + "/24", "dev", "eth0"},
            {"-n", internet, "link", "set", "eth0", "up"},
            {"-n", internet, "link", "set", "lo", "up"},
        };
        for (const auto& command : setup) {
            const auto result = ip(command);
            ASSERT_EQ(result.exit_code, 0) << result.err;
        }
        allowed = std::make_unique<PongServer>(internet, kAllowedPort);
        other = std::make_unique<PongServer>(internet, kOtherPort);
        script = kProbeScript;
        requested = "\"network\"";
        daemon_args = {"--network-provider", "/run/netns/" + provider, "--desktop-user", "nobody"};
        Bulkheadd::SetUp();
    }

    void TearDown() override {
        Bulkheadd::TearDown();
        allowed.reset();
        other.reset();
        (void)ip({"netns", "del", provider});
        (void)ip({"netns", "del", internet});
    }

    // The app's log from `since` (a marker line count) on.
    std::string log_of(const std::string& app_name) { return app({"logs", app_name}).out; }

    std::string provider;
    std::string internet;
    std::unique_ptr<PongServer> allowed;
    std::unique_ptr<PongServer> other;
};

TEST_F(AppNetwork, GrantsAllowListLiveGrantRevokeAndAudit) {
    ASSERT_EQ(app({"add", definition}).exit_code, 0);

    // Nothing granted: no network device in the VM, nothing reached.
    ASSERT_EQ(app({"start", name}).exit_code, 0);
    ASSERT_TRUE(wait_for_output("reach-8081-no", 90)) << log_of(name);
    EXPECT_EQ(log_of(name).find("eth0"), std::string::npos) << log_of(name);
    EXPECT_TRUE(allowed->connections().empty());
    EXPECT_EQ(ip({"-n", provider, "link", "show"}).out.find("bha"), std::string::npos);
    // Network granted to a VM without a network device applies at its next start: until then it
    // still reaches nothing.
    const std::string entry = std::string("network:") + kServer + ":" + std::to_string(kAllowedPort);
    const auto later = app({"grant", name, entry, "--yes"});
    ASSERT_EQ(later.exit_code, 0) << later.err;
    EXPECT_NE(later.out.find("when the app is started again (its VM has no network device now)"), std::string::npos)
        << later.out;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_TRUE(allowed->connections().empty());
    ASSERT_EQ(app({"stop", name}).exit_code, 0);
    ASSERT_TRUE(wait_for_state("stopped", 30));

    // Refused grants change nothing: by a user without the right, an unknown kind, not
    // available yet, not requested by the app (without --force), and without confirmation.
    // A desktop user may look and revoke, but not grant (refused and audited).
    fs::permissions(dir.path(), fs::perms::others_exec, fs::perm_options::add);
    const std::string socket = (dir.path() / "run/bulkheadd.sock").string();
    const auto [denied_status, denied] = as_nobody(socket, {"grant", name, "network", "--yes"});
    EXPECT_EQ(denied_status, 1);
    EXPECT_NE(denied.find("granting permissions needs root"), std::string::npos) << denied;
    EXPECT_EQ(as_nobody(socket, {"permissions", name}).first, 0);
    const auto unknown = app({"grant", name, "teleport", "--yes"});
    EXPECT_NE(unknown.err.find("'teleport' is not a permission"), std::string::npos) << unknown.err;
    EXPECT_NE(app({"grant", name, "camera", "--yes", "--force"}).err.find("not available yet"), std::string::npos);
    const auto undeclared = app({"grant", name, "expose-port:9000:20999", "--yes"});
    EXPECT_NE(undeclared.err.find("does not request 'expose-port'"), std::string::npos) << undeclared.err;
    EXPECT_NE(app({"grant", name, "network"}).err.find("pass --yes"), std::string::npos);
    EXPECT_EQ(app({"permissions", name}).out, "granted: " + entry + "\nrequested, not granted: none\n");

    // Only the allow-listed address and port.
    ASSERT_EQ(app({"start", name}).exit_code, 0);
    ASSERT_TRUE(wait_for_output("reach-8080-yes", 90)) << log_of(name);
    EXPECT_NE(log_of(name).find("eth0"), std::string::npos);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(log_of(name).find("reach-8081-yes"), std::string::npos);
    EXPECT_TRUE(other->connections().empty());

    // `network` granted to the running VM takes effect at once.
    const auto everywhere = app({"grant", name, "network", "--yes"});
    ASSERT_EQ(everywhere.exit_code, 0) << everywhere.err;
    EXPECT_NE(everywhere.out.find("takes effect now"), std::string::npos) << everywhere.out;
    ASSERT_TRUE(wait_for_output("reach-8081-yes", 90)) << log_of(name);

    // Revoking both on the running VM: nothing gets through a second later, and the VM runs on.
    ASSERT_EQ(app({"revoke", name, "network"}).exit_code, 0);
    const auto revoked = app({"revoke", name, entry});
    const Clock::time_point cut = Clock::now();
    ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
    EXPECT_NE(revoked.out.find("takes effect now"), std::string::npos) << revoked.out;
    // The guest keeps trying; what counts is the server's side: nothing arrives a second after
    // the revoke. (The guest itself may be slow to say so: a TCG guest on a loaded machine can
    // take seconds for one attempt that was under way at the revoke.)
    std::string log;
    for (int i = 0; i < 600; ++i) {
        log = log_of(name);
        if (log.rfind("reach-8080-no") != std::string::npos &&
            log.rfind("reach-8080-no") > log.rfind("reach-8080-yes") &&
            log.rfind("reach-8081-no") > log.rfind("reach-8081-yes") && Clock::now() > cut + std::chrono::seconds(5)) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GT(log.rfind("reach-8080-no"), log.rfind("reach-8080-yes")) << log;
    EXPECT_GT(log.rfind("reach-8081-no"), log.rfind("reach-8081-yes")) << log;
    EXPECT_EQ(allowed->count_since(cut + std::chrono::seconds(1)) + other->count_since(cut + std::chrono::seconds(1)),
              0U);
    EXPECT_EQ(status()["state"], "running");

    // The audit log: the refusals, the grants, the starts with what each VM got, the revokes.
    const auto entries = testing::run_process({kBin + "/bulkhead", "audit", "--socket",
                                               (dir.path() / "run/bulkheadd.sock").string(), "--app", name, "--json"});
    ASSERT_EQ(entries.exit_code, 0) << entries.err;
    std::vector<std::string> seen;
    const Json listed = Json::parse(entries.out);
    for (const Json& e : listed.at("entries")) {
        std::string line = e.at("action").get<std::string>() + " " + e.at("decision").get<std::string>() + " by " +
                           std::to_string(e.at("actor_uid").get<long>());
        for (const Json& p : e.at("permissions")) line += " " + p.get<std::string>();
        seen.push_back(line);
    }
    const std::vector<std::string> expected = {
        "start allowed by 0",           "grant allowed by 0 " + entry, "grant refused by 65534",
        "grant refused by 0",           "grant refused by 0 camera",   "grant refused by 0 expose-port:9000:20999",
        "start allowed by 0 " + entry,  "grant allowed by 0 network",  "revoke allowed by 0 network",
        "revoke allowed by 0 " + entry,
    };
    EXPECT_EQ(seen, expected) << entries.out << testing::read_whole_file(dir.path() / "state/audit.log");
}

// Connects to address:port in this process's namespace and returns what the server says first
// (empty when the connection fails).
std::string first_words(const char* address, int port) {
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, address, &peer.sin_addr);
    const timeval limit{3, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&peer), sizeof peer) != 0) return "";
    std::array<char, 64> buffer{};
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    return got > 0 ? std::string(buffer.data(), static_cast<std::size_t>(got)) : "";
}

// The host's first IPv4 address that is not loopback, if it has one.
std::optional<std::string> outside_address() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return std::nullopt;
    std::optional<std::string> found;
    for (const ifaddrs* at = list; at != nullptr && !found; at = at->ifa_next) {
        if (at->ifa_addr == nullptr || at->ifa_addr->sa_family != AF_INET || (at->ifa_flags & IFF_LOOPBACK) != 0)
            continue;
        std::array<char, INET_ADDRSTRLEN> text{};
        sockaddr_in address{};
        std::memcpy(&address, at->ifa_addr, sizeof address);
        ::inet_ntop(AF_INET, &address.sin_addr, text.data(), text.size());
        found = std::string(text.data());
    }
    ::freeifaddrs(list);
    return found;
}

TEST_F(AppNetwork, ExposedPortOnlyOnLoopbackAndNoAppReachesAnother) {
    const std::string tag = std::to_string(::getpid() % 100000);
    const std::string server = "t" + tag + "-srv";
    const std::string client = "t" + tag + "-cli";
    others = {server, client};
    const int host_port = 20000 + ::getpid() % 20000;
    const auto added = app({"add",
                            write_definition(server,
                                             "(while true; do echo ping | busybox nc -w 1 192.0.2.1 8080; "
                                             "busybox sleep 0.5; done) & while true; do echo exposed | "
                                             "busybox nc -l -p 9000; done",
                                             "\"expose-port\", \"network\"")
                                .string(),
                            "--json"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    const long server_uid = Json::parse(added.out).at("uid").get<long>();
    const auto exposed = app({"grant", server, "expose-port:9000:" + std::to_string(host_port), "--yes"});
    ASSERT_EQ(exposed.exit_code, 0) << exposed.err;
    ASSERT_EQ(app({"start", server}).exit_code, 0);
    std::string said;
    for (int i = 0; i < 600 && said.empty(); ++i) {
        said = first_words("127.0.0.1", host_port);
        if (said.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(said, "exposed\n") << testing::read_whole_file(dir.path() / "daemon.log");
    // The forwarder is jailed like the VMM: the app's uid, no capabilities, no_new_privs, only
    // /usr and itself to see, the app's network namespace (not the host's).
    const Json record = Json::parse(testing::read_whole_file(dir.path() / "run/instances" / (server + ".json")));
    pid_t forwarder = -1;
    for (const Json& helper : record.at("helpers")) {
        if (helper.at("role") == "port-forward") forwarder = static_cast<pid_t>(helper.at("pid").get<long>());
    }
    ASSERT_GT(forwarder, 1) << record.dump();
    const std::string uid = std::to_string(server_uid);
    EXPECT_EQ(testing::status_field(forwarder, "Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
    EXPECT_EQ(testing::status_field(forwarder, "CapEff"), "0000000000000000");
    EXPECT_EQ(testing::status_field(forwarder, "CapBnd"), "0000000000000000");
    EXPECT_EQ(testing::status_field(forwarder, "NoNewPrivs"), "1");
    std::set<std::string> seen_root;
    for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(forwarder) + "/root")) {
        seen_root.insert(entry.path().filename().string());
    }
    EXPECT_EQ(seen_root, (std::set<std::string>{"bin", "bulkhead", "dev", "lib", "lib64", "proc", "usr"}));
    EXPECT_NE(fs::read_symlink("/proc/" + std::to_string(forwarder) + "/ns/net"),
              fs::read_symlink("/proc/self/ns/net"));
    if (const auto outside = outside_address()) {
        EXPECT_EQ(first_words(outside->c_str(), host_port), "") << "the port is reachable on " << *outside;
    }

    // Another app with all the network there is still cannot reach the server's VM.
    const long index = server_uid - 600000;
    const std::string server_guest =
        "100.64." + std::to_string(index * 8 / 256) + "." + std::to_string(index * 8 % 256 + 2);
    ASSERT_EQ(app({"add", write_definition(client,
                                           "while true; do if busybox nc -w 1 " + server_guest +
                                               " 9000 </dev/null | busybox grep -q exposed; then echo peer-yes; "
                                               "else echo peer-no; fi; busybox sleep 0.3; done",
                                           "\"network\"")
                              .string()})
                  .exit_code,
              0);
    ASSERT_EQ(app({"grant", client, "network", "--yes"}).exit_code, 0);
    ASSERT_EQ(app({"start", client}).exit_code, 0);
    ASSERT_TRUE(wait_for_output("peer-no", 90, client)) << app({"logs", client}).out;
    std::this_thread::sleep_for(std::chrono::seconds(3));
    EXPECT_EQ(app({"logs", client}).out.find("peer-yes"), std::string::npos);
    EXPECT_EQ(first_words("127.0.0.1", host_port), "exposed\n");  // the server still serves

    // The server has a network device (for its exposed port) but no network grant: it reached
    // nothing all along, though it kept trying.
    EXPECT_TRUE(allowed->connections().empty());

    // Revoking the port closes it at once.
    ASSERT_EQ(app({"revoke", server, "expose-port:9000:" + std::to_string(host_port)}).exit_code, 0);
    EXPECT_EQ(first_words("127.0.0.1", host_port), "");
}

}  // namespace
}  // namespace bulkhead
