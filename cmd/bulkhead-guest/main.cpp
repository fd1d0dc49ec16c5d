// bulkhead-guest: PID 1 of every app VM (docs/APP-VM.md). No shell, no getty, no systemd: it
// mounts what the app needs, loads the virtio modules, starts the app as an unprivileged user
// inside the app's read-only root, forwards its output and exit status to the host over the
// virtio-serial control port, answers ping / status / shutdown, reaps every child, and powers
// the VM off when the app is done. A static binary; it never exits (PID 1 exiting is a panic).
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>

#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "control/messages.hpp"
#include "guest/devices.hpp"
#include "guest/run_spec.hpp"
#include "initrd/modules.hpp"

#ifndef BULKHEAD_VERSION
#error "BULKHEAD_VERSION must be defined by the build"
#endif

namespace {

using namespace bulkhead;

constexpr uid_t kAppUid = 1000;
constexpr gid_t kAppGid = 1000;
constexpr int kDeviceWaitMs = 20000;
constexpr int kStopGraceMs = 5000;
constexpr int kGoodbyeMs = 3000;
// How long output may still come once the app's main process has exited.
constexpr std::uint64_t kDrainMs = 1000;
constexpr std::size_t kMaxQueuedBytes = std::size_t{4} << 20;
constexpr std::uint64_t kRestartPauseMs = 1000;
constexpr std::uint64_t kQuickRunMs = 10000;  // an app that dies sooner than this failed quickly
constexpr int kMaxQuickFailures = 5;          // in a row: then it is not started again

std::uint64_t now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

void say(const std::string& line) {
    const std::string text = "bulkhead-guest: " + line + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
}

[[noreturn]] void power_off(const std::string& why) {
    say("powering off: " + why);
    ::sync();
    ::umount2("/app/state", MNT_DETACH);
    ::reboot(RB_POWER_OFF);
    ::reboot(RB_AUTOBOOT);  // -no-reboot turns this into an exit as well
    for (;;) ::pause();
}

void mount_or_say(const char* source, const char* target, const char* type, unsigned long flags,
                  const char* options = nullptr) {
    ::mkdir(target, 0755);
    if (::mount(source, target, type, flags, options) != 0) {
        say(Error::from_errno(errno, std::string("mount ") + target).message);
    }
}

// Polls sysfs until `find` reports the device or the deadline passes.
template <typename Find>
std::optional<std::string> wait_for(Find find, const std::string& what) {
    const std::uint64_t deadline = now_ms() + kDeviceWaitMs;
    do {
        auto found = find();
        if (found && *found) return **found;
        ::usleep(20000);
    } while (now_ms() < deadline);
    say(what + " did not appear");
    return std::nullopt;
}

void bring_up_loopback() {
    const UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (!sock.valid() || ::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) return say("lo: cannot read flags");
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) say("lo: cannot bring it up");
}

sockaddr ipv4_address(const std::string& text) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    (void)::inet_pton(AF_INET, text.c_str(), &address.sin_addr);
    sockaddr out{};
    std::memcpy(&out, &address, sizeof address);
    return out;
}

// The VM's only network device gets the address and route the host chose for it; without one
// the app has no network at all (only lo).
void configure_network(const guest::GuestNetwork& network) {
    const std::string device = "eth0";
    if (!wait_for(
            [&]() -> Result<std::optional<std::string>> {
                return ::access(("/sys/class/net/" + device).c_str(), F_OK) == 0 ? std::optional<std::string>(device)
                                                                                 : std::optional<std::string>();
            },
            "the network device")) {
        return;
    }
    const UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, device.c_str(), IFNAMSIZ - 1);
    request.ifr_addr = ipv4_address(network.address);
    if (!sock.valid() || ::ioctl(sock.get(), SIOCSIFADDR, &request) != 0) return say("eth0: cannot set its address");
    const std::uint32_t mask = network.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - network.prefix);
    sockaddr_in netmask{};
    netmask.sin_family = AF_INET;
    netmask.sin_addr.s_addr = htonl(mask);
    std::memcpy(&request.ifr_netmask, &netmask, sizeof netmask);
    if (::ioctl(sock.get(), SIOCSIFNETMASK, &request) != 0) return say("eth0: cannot set its netmask");
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) return say("eth0: cannot read flags");
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) return say("eth0: cannot bring it up");
    rtentry route{};
    route.rt_dst = ipv4_address("0.0.0.0");
    route.rt_genmask = ipv4_address("0.0.0.0");
    route.rt_gateway = ipv4_address(network.gateway);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    if (::ioctl(sock.get(), SIOCADDRT, &route) != 0) say("eth0: cannot add the default route");
}

// The host's shares at /mnt/host<path>: a small tmpfs on the app root's /mnt (which the app's
// image must have) holds the mount points, and is made read-only once they are in place.
void mount_shares(const std::vector<guest::GuestShare>& shares) {
    if (::access("/app/mnt", F_OK) != 0) return say("the app's root has no /mnt: its shares are not mounted");
    mount_or_say("tmpfs", "/app/mnt", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m");
    for (const guest::GuestShare& share : shares) {
        const std::string target = std::string("/app") + guest::kSharesRoot + share.path;
        std::error_code error;
        std::filesystem::create_directories(target, error);
        if (error) {
            say("cannot make the mount point " + target);
            continue;
        }
        const unsigned long flags =
            MS_NOSUID | MS_NODEV | (share.writable ? 0UL : static_cast<unsigned long>(MS_RDONLY));
        mount_or_say(share.tag.c_str(), target.c_str(), "virtiofs", flags);
    }
    mount_or_say("tmpfs", "/app/mnt", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

Result<guest::RunSpec> read_run_spec() {
    auto argv_bytes = read_file_bounded("/bulkhead/argv", guest::kMaxListBytes);
    if (!argv_bytes) return fail(argv_bytes.error());
    auto env_bytes = read_file_bounded("/bulkhead/env", guest::kMaxListBytes);
    if (!env_bytes) return fail(env_bytes.error());
    auto restart_bytes = read_file_bounded("/bulkhead/restart", 64);
    if (!restart_bytes) return fail(restart_bytes.error());
    auto restart = guest::parse_restart(*restart_bytes);
    if (!restart) return fail(restart.error());
    auto argv = guest::split_nul_list(*argv_bytes, "/bulkhead/argv");
    if (!argv) return fail(argv.error());
    auto env = guest::split_nul_list(*env_bytes, "/bulkhead/env");
    if (!env) return fail(env.error());
    auto spec = guest::make_run_spec(std::move(*argv), std::move(*env));
    if (spec) spec->restart = *restart;
    if (spec && ::access("/bulkhead/network", F_OK) == 0) {
        auto text = read_file_bounded("/bulkhead/network", 64);
        if (!text) return fail(text.error());
        auto network = guest::parse_guest_network(*text);
        if (!network) return fail(network.error());
        spec->network = *network;
    }
    if (spec && ::access("/bulkhead/shares", F_OK) == 0) {
        auto text = read_file_bounded("/bulkhead/shares", guest::kMaxShares * 4200);
        if (!text) return fail(text.error());
        auto shares = guest::parse_guest_shares(*text);
        if (!shares) return fail(shares.error());
        spec->shares = std::move(*shares);
    }
    return spec;
}

// The app, started in its root as the unprivileged guest user, its output in two pipes.
struct App {
    pid_t pid = -1;
    UniqueFd out;
    UniqueFd err;
    std::uint64_t started_ms = 0;
};

std::optional<App> start_app(const guest::RunSpec& spec) {
    std::array<int, 2> out{};
    std::array<int, 2> err{};
    if (::pipe2(out.data(), O_CLOEXEC) != 0 || ::pipe2(err.data(), O_CLOEXEC) != 0) return std::nullopt;
    std::vector<char*> argv;
    for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> env;
    for (const std::string& entry : spec.env) env.push_back(const_cast<char*>(entry.c_str()));
    env.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
        ::setsid();
        const int null = ::open("/dev/null", O_RDONLY);
        if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(126);
        // Into the app's root, then down to the app user for good.
        if (::chroot("/app") != 0 || ::chdir("/") != 0) ::_exit(126);
        if (::setgroups(0, nullptr) != 0 || ::setresgid(kAppGid, kAppGid, kAppGid) != 0 ||
            ::setresuid(kAppUid, kAppUid, kAppUid) != 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            ::_exit(126);
        }
        ::execve(argv[0], argv.data(), env.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    if (pid < 0) return std::nullopt;
    return App{pid, UniqueFd(out[0]), UniqueFd(err[0]), now_ms()};
}

class Guest {
public:
    void run(const guest::RunSpec& spec, const std::string& port_path);

private:
    void queue(const control::Message& message);
    void flush();
    void read_control();
    void handle(const control::Message& message);
    void forward(UniqueFd& pipe, control::Stream stream);
    void reap();

    UniqueFd control_;
    bool host_connected_ = false;
    control::FrameDecoder decoder_;
    std::deque<std::string> outgoing_;
    std::size_t queued_bytes_ = 0;
    std::size_t dropped_ = 0;
    std::optional<App> app_;
    std::optional<control::Exited> exited_;
    std::uint64_t stop_deadline_ = 0;
    bool shutdown_requested_ = false;
    int quick_failures_ = 0;
    std::uint64_t exited_at_ms_ = 0;
    bool leftovers_killed_ = false;
};

void Guest::queue(const control::Message& message) {
    auto bytes = control::encode(message);
    if (!bytes) return say("cannot encode a message: " + bytes.error().message);
    if (queued_bytes_ + bytes->size() > kMaxQueuedBytes && std::holds_alternative<control::Output>(message)) {
        ++dropped_;  // the host is not reading; output is dropped, never status or exit
        return;
    }
    queued_bytes_ += bytes->size();
    outgoing_.push_back(std::move(*bytes));
}

void Guest::flush() {
    while (!outgoing_.empty()) {
        std::string& front = outgoing_.front();
        const ssize_t put = ::write(control_.get(), front.data(), front.size());
        if (put < 0) {
            if (errno != EAGAIN && errno != EINTR) host_connected_ = false;
            return;
        }
        queued_bytes_ -= static_cast<std::size_t>(put);
        if (static_cast<std::size_t>(put) < front.size()) {
            front.erase(0, static_cast<std::size_t>(put));
            return;
        }
        outgoing_.pop_front();
    }
}

void Guest::read_control() {
    std::array<char, 4096> buffer{};
    const ssize_t got = ::read(control_.get(), buffer.data(), buffer.size());
    if (got <= 0) {
        if (got == 0 || (errno != EAGAIN && errno != EINTR)) host_connected_ = false;
        return;
    }
    host_connected_ = true;
    decoder_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    for (;;) {
        auto frame = decoder_.next();
        if (!frame) {
            say("from the host: " + frame.error().message);  // logged and skipped, never fatal
            continue;
        }
        if (!*frame) break;
        auto message = control::from_frame(**frame);
        if (!message) {
            say("from the host: " + message.error().message);
            continue;
        }
        handle(*message);
    }
}

void Guest::handle(const control::Message& message) {
    if (const auto* ping = std::get_if<control::Ping>(&message)) {
        queue(control::Pong{ping->nonce});
    } else if (std::holds_alternative<control::StatusRequest>(message)) {
        control::Status status;
        status.state = exited_ ? control::AppState::exited : control::AppState::running;
        status.app_pid = app_ && !exited_ ? static_cast<std::uint32_t>(app_->pid) : 0;
        status.uptime_ms = app_ ? now_ms() - app_->started_ms : 0;
        queue(status);
    } else if (std::holds_alternative<control::Shutdown>(message)) {
        shutdown_requested_ = true;
        if (app_ && !exited_) {
            ::kill(-app_->pid, SIGTERM);
            stop_deadline_ = now_ms() + kStopGraceMs;
        }
    } else {
        say("the host sent a message only the guest may send; ignored");
    }
}

void Guest::forward(UniqueFd& pipe, control::Stream stream) {
    std::array<char, 16384> buffer{};
    const ssize_t got = ::read(pipe.get(), buffer.data(), buffer.size());
    if (got > 0) {
        queue(control::Output{stream, std::string(buffer.data(), static_cast<std::size_t>(got))});
    } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        pipe.reset();
    }
}

void Guest::reap() {
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (app_ && pid == app_->pid) {
            exited_ = WIFSIGNALED(status) ? control::Exited{true, static_cast<std::uint32_t>(WTERMSIG(status))}
                                          : control::Exited{false, static_cast<std::uint32_t>(WEXITSTATUS(status))};
            exited_at_ms_ = now_ms();
        }
    }
}

void Guest::run(const guest::RunSpec& spec, const std::string& port_path) {
    control_ = UniqueFd(::open(port_path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!control_.valid()) power_off(Error::from_errno(errno, "opening the control port " + port_path).message);
    queue(control::Hello{control::kProtocolVersion, "bulkhead-guest " BULKHEAD_VERSION});

    sigset_t children;
    sigemptyset(&children);
    sigaddset(&children, SIGCHLD);
    ::pthread_sigmask(SIG_BLOCK, &children, nullptr);
    const UniqueFd signals(::signalfd(-1, &children, SFD_NONBLOCK | SFD_CLOEXEC));

    app_ = start_app(spec);
    if (!app_) power_off("cannot start the app");
    // Which hardware source feeds the guest kernel's entropy pool (virtio-rng, from the host).
    auto rng = read_file_bounded("/sys/class/misc/hw_random/rng_current", 256);
    std::string rng_name = rng ? *rng : std::string("none");
    while (!rng_name.empty() && rng_name.back() == '\n') rng_name.pop_back();
    queue(control::Log{"hardware RNG: " + rng_name});
    queue(control::Log{"started " + spec.argv.front()});

    std::uint64_t goodbye_deadline = 0;
    std::uint64_t restart_at = 0;
    bool decided = false;     // what to do about the app's exit
    bool restarting = false;  // it will be started again at restart_at
    for (;;) {
        std::vector<pollfd> fds{{control_.get(), static_cast<short>(POLLIN | (outgoing_.empty() ? 0 : POLLOUT)), 0},
                                {signals.get(), POLLIN, 0}};
        if (app_->out.valid()) fds.push_back({app_->out.get(), POLLIN, 0});
        if (app_->err.valid()) fds.push_back({app_->err.get(), POLLIN, 0});
        // Until the host connects, the port reports hang-up: look again every 50 ms.
        const int timeout = host_connected_ ? 200 : 50;
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) power_off("poll failed");
        if ((fds[0].revents & POLLIN) != 0 || !host_connected_) read_control();
        if ((fds[0].revents & POLLHUP) != 0) host_connected_ = false;
        if (fds[1].revents != 0) {
            signalfd_siginfo info{};
            while (::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            }
            reap();
        }
        for (std::size_t i = 2; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            if (app_->out.valid() && fds[i].fd == app_->out.get()) forward(app_->out, control::Stream::out);
            if (app_->err.valid() && fds[i].fd == app_->err.get()) forward(app_->err, control::Stream::err);
        }
        flush();
        if (stop_deadline_ != 0 && !exited_ && now_ms() > stop_deadline_) ::kill(-app_->pid, SIGKILL);
        // The app's main process is gone. What it left behind (a background child that still
        // holds its output, a daemon that left its session) goes too, once its output is drained
        // or after kDrainMs, so nothing outlives the run into a restart or holds up power-off.
        // PID 1 is the only process kill(-1) spares, and the VM runs nothing but the app.
        if (exited_ && !leftovers_killed_ &&
            ((!app_->out.valid() && !app_->err.valid()) || now_ms() > exited_at_ms_ + kDrainMs)) {
            ::kill(-1, SIGKILL);
            leftovers_killed_ = true;
        }
        // Once the app has exited and its output is drained: start it again if its restart
        // policy says so, or report, wait for the host's shutdown (its acknowledgement) or a
        // short deadline, and power off.
        if (exited_ && !app_->out.valid() && !app_->err.valid()) {
            if (!decided) {
                decided = true;
                const bool failed = exited_->signalled || exited_->code != 0;
                restarting = !shutdown_requested_ && (spec.restart == guest::Restart::always ||
                                                      (spec.restart == guest::Restart::on_failure && failed));
                if (restarting) {
                    quick_failures_ = failed && now_ms() - app_->started_ms < kQuickRunMs ? quick_failures_ + 1 : 0;
                    if (quick_failures_ >= kMaxQuickFailures) {
                        queue(control::Log{"the app failed " + std::to_string(kMaxQuickFailures) +
                                           " times in a row within seconds; not starting it again"});
                        restarting = false;
                    }
                }
                control::Exited report = *exited_;
                report.restarting = restarting;
                if (!restarting && dropped_ > 0)
                    queue(control::Log{std::to_string(dropped_) + " output messages dropped"});
                queue(report);
                if (restarting) {
                    restart_at = now_ms() + kRestartPauseMs;
                } else {
                    goodbye_deadline = now_ms() + kGoodbyeMs;
                }
            }
            if (restarting && shutdown_requested_) {
                restarting = false;  // asked to stop while waiting to start again
                goodbye_deadline = now_ms() + kGoodbyeMs;
            }
            if (restarting && now_ms() >= restart_at) {
                app_ = start_app(spec);
                if (!app_) power_off("cannot start the app again");
                exited_.reset();
                decided = false;
                leftovers_killed_ = false;
                queue(control::Log{"started " + spec.argv.front() + " again"});
            } else if (!restarting && ((shutdown_requested_ && outgoing_.empty()) || now_ms() > goodbye_deadline)) {
                power_off("the app exited");
            }
        }
    }
}

void run_guest() {
    if (::getpid() != 1) {
        (void)std::fputs("bulkhead-guest runs only as PID 1 of an app VM\n", stderr);
        ::_exit(2);
    }
    mount_or_say("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
    mount_or_say("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_or_say("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_or_say("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    (void)initrd::load_modules("/lib/modules", say);

    auto root_disk = wait_for([] { return guest::find_disk_by_serial("/", "bulkhead-root"); }, "the app's root disk");
    if (!root_disk) power_off("no root disk");
    mount_or_say(root_disk->c_str(), "/app", "erofs", MS_RDONLY | MS_NODEV | MS_NOSUID);
    // The app's root is read-only; it must bring the mount points (proc, dev, tmp, state).
    mount_or_say("proc", "/app/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_or_say("/dev", "/app/dev", nullptr, MS_BIND);
    mount_or_say("tmpfs", "/app/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    if (auto state = guest::find_disk_by_serial("/", "bulkhead-state"); state && *state) {
        mount_or_say((*state)->c_str(), "/app/state", "ext4", MS_NOSUID | MS_NODEV);
    }
    bring_up_loopback();

    auto port = wait_for([] { return guest::find_virtio_port("/", "bulkhead.ctl"); }, "the control port");
    if (!port) power_off("no control port");
    auto spec = read_run_spec();
    if (!spec) power_off("bad run spec: " + spec.error().message);
    if (spec->network) configure_network(*spec->network);
    if (!spec->shares.empty()) mount_shares(spec->shares);
    Guest guest;
    guest.run(*spec, *port);
}

}  // namespace

int main() {
    // PID 1 must never return or throw: whatever escapes ends in a clean power-off.
    try {
        run_guest();
    } catch (const std::exception& unexpected) {
        power_off(std::string("internal error: ") + unexpected.what());
    } catch (...) {
        power_off("internal error");
    }
}
