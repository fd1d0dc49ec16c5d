#include "manager/daemon.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>

#include "apps/installer.hpp"
#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "control/messages.hpp"
#include "jailer/jail.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"
#include "manager/api.hpp"
#include "manager/guest_log.hpp"
#include "manager/network_rules.hpp"
#include "manager/permission_requests.hpp"
#include "network/app_link.hpp"
#include "network/namespaces.hpp"
#include "network/port_forward.hpp"
#include "vmm/qmp.hpp"

namespace bulkhead::manager {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxRequestBytes = 65536;
constexpr std::size_t kMaxLogBytes = std::size_t{1} << 20;
constexpr std::size_t kLogTailBytes = 65536;
constexpr std::uint64_t kStopGraceMs = 15000;
constexpr std::uint64_t kQuitGraceMs = 5000;
constexpr int kQmpTimeoutMs = 2000;
constexpr std::size_t kMaxClients = 64;
constexpr std::size_t kReservedForRoot = 8;
constexpr std::size_t kClientsPerUser = 16;
constexpr std::size_t kRefusedClients = 4;
constexpr std::size_t kMaxPendingOutput = std::size_t{256} << 10;  // per client: then stop reading it
constexpr int kMaxDrainReads = 64;
constexpr auto kPidfdIdType = static_cast<idtype_t>(3);  // P_PIDFD (Linux 5.4), not in glibc 2.36's headers

std::uint64_t now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

void log_line(const std::string& line) {
    const std::string text = "bulkheadd: " + line + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
}

enum class VmState { stopped, starting, running, exited, crashed };

std::string_view state_name(VmState state) {
    switch (state) {
        case VmState::stopped: return "stopped";
        case VmState::starting: return "starting";
        case VmState::running: return "running";
        case VmState::exited: return "exited";
        case VmState::crashed: return "crashed";
    }
    return "stopped";
}

json::Value text(std::string_view value) { return json::Value(std::string(value)); }

json::Value object(json::Object members) {
    (void)json::sort_members(members);
    return json::Value(std::move(members));
}

std::string error_response(ErrorCode code, const std::string& message) {
    return json::to_json(
               object({{"ok", json::Value(false)},
                       {"error", object({{"code", text(error_code_name(code))}, {"message", text(message)}})}})) +
           "\n";
}

struct Helper {
    pid_t pid = -1;
    std::uint64_t start_ticks = 0;
    UniqueFd pidfd;
    std::string role;  // "port-forward" or "files"
};

struct Instance {
    VmState state = VmState::stopped;
    pid_t pid = -1;
    std::uint64_t start_ticks = 0;
    UniqueFd pidfd;
    UniqueFd control;
    std::string control_socket;
    control::FrameDecoder decoder;
    std::optional<control::Exited> exited;
    std::optional<int> vmm_status;  // from waitpid, when we are its parent
    std::string crash;
    bool stop_requested = false;
    bool quit_requested = false;  // over QMP, after the guest did not stop in time
    std::uint64_t stop_deadline = 0;
    std::optional<jailer::Cgroup> cgroup;
    // Its network device, when its grants gave it one: its addresses (and so its namespace and
    // links) for the firewall and the tear-down.
    std::optional<network::AppAddresses> network;
    // Processes serving the VM: the expose-port forwarder, a file server per share.
    std::vector<Helper> helpers;
    std::map<std::uint16_t, UniqueFd> exposed_ports;  // listening on 127.0.0.1, by host port
    bool uplink_cut = false;  // its network was cut because its firewall could not follow a change
    GuestOutputFilter output_filter;
    // What the guest gets wrong is worth a line on bulkheadd's stderr, but a guest must not be
    // able to flood it.
    RateLimit complaints{10, 60000};
};

struct Client {
    UniqueFd fd;
    uid_t uid = 0;
    bool allowed = false;  // a refused client gets one refusal per request, and nothing else
    std::string input;
    std::string output;
};

}  // namespace

struct Daemon::Impl {
    DaemonConfig config;
    UniqueFd listener;
    UniqueFd signals;
    std::map<std::string, Instance> instances;
    std::vector<Client> clients;
    std::unique_ptr<vmm::Backend> backend = vmm::make_qemu_backend();
    UniqueFd provider;  // the network provider's namespace, when configured

    // Which provider namespace this is (its nsfs inode), to tell it from another after a restart.
    [[nodiscard]] std::string provider_identity() const {
        struct stat info {};
        if (!provider.valid() || ::fstat(provider.get(), &info) != 0) return "";
        return std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    }

    [[nodiscard]] std::string app_namespace(const std::string& name) const {
        return config.paths.runtime_dir + "/netns/" + name;
    }

    [[nodiscard]] network::AppLink app_link(const std::string& name, const network::AppAddresses& addresses) const {
        return {app_namespace(name), provider.get(), addresses};
    }

    // The provider's firewall from the current grants of every VM with a network device.
    Result<void> refresh_firewall() {
        if (!provider.valid()) return {};
        std::vector<network::AppRules> rules;
        for (const auto& [name, instance] : instances) {
            if (instance.pid < 0 || !instance.network) continue;
            auto granted = permissions_for_start(permission_store(), name);
            if (!granted) {
                log_line("the grants of " + name + " cannot be read; its network is cut: " + granted.error().message);
                granted = std::vector<permissions::Permission>();
            }
            std::vector<std::string> notes;
            rules.push_back(rules_for(name, *instance.network, *granted, notes));
            for (const std::string& note : notes) log_line(concat({name, ": ", note}));
        }
        auto applied = network::apply_ruleset(provider.get(), rules);
        if (!applied) log_line(applied.error().message);
        return applied;
    }

    [[nodiscard]] std::string instance_file(const std::string& name) const {
        return config.paths.runtime_dir + "/instances/" + name + ".json";
    }
    [[nodiscard]] std::string log_file(const std::string& name) const {
        return config.paths.state_dir + "/logs/" + name + ".log";
    }

    void append_log(const std::string& name, std::string_view bytes) const {
        const std::string path = log_file(name);
        struct stat info {};
        if (::stat(path.c_str(), &info) == 0 && static_cast<std::size_t>(info.st_size) > kMaxLogBytes) {
            (void)::rename(path.c_str(), (path + ".1").c_str());
        }
        const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (fd.valid()) (void)write_all(fd.get(), bytes, path);
    }

    // bulkheadd's own note, on a line of its own: what the guest wrote before it is flushed first.
    void append_note(const std::string& name, Instance& instance, const std::string& note) const {
        append_log(name, instance.output_filter.flush() + "\n[bulkheadd: " + note + "]\n");
    }

    static void complain(const std::string& name, Instance& instance, const std::string& what) {
        switch (instance.complaints.check(now_ms())) {
            case RateLimit::Verdict::allow: log_line("from the VM of " + name + ": " + what); break;
            case RateLimit::Verdict::first_refusal:
                log_line("the VM of " + name + " keeps sending malformed messages; quiet about it for a minute");
                break;
            case RateLimit::Verdict::refuse: break;
        }
    }

    void record_instance(const std::string& name, const Instance& instance) const {
        const std::string body =
            json::to_json(object({{"pid", json::Value(static_cast<std::int64_t>(instance.pid))},
                                  {"start_ticks", json::Value(static_cast<std::int64_t>(instance.start_ticks))},
                                  {"network", json::Value(instance.network.has_value())},
                                  {"helpers", helpers_record(instance)},
                                  {"provider", text(provider_identity())},
                                  {"uplink_cut", json::Value(instance.uplink_cut)}})) +
            "\n";
        if (auto written = write_file_atomically(instance_file(name), body, 0600); !written) {
            log_line("cannot record " + name + ": " + written.error().message);
        }
    }

    // The VM is gone: say why, tidy up, forget the process.
    void finish(const std::string& name, Instance& instance) {
        if (instance.stop_requested) {
            instance.state = VmState::stopped;  // what the app said on its way out stays in "exit"
        } else if (instance.exited) {
            instance.state = VmState::exited;
        } else {
            instance.state = VmState::crashed;
            instance.crash = instance.vmm_status
                                 ? (*instance.vmm_status >= 128
                                        ? "the VMM was killed by signal " + std::to_string(*instance.vmm_status - 128)
                                        : "the VMM exited with status " + std::to_string(*instance.vmm_status))
                                 : std::string("the VMM exited unexpectedly");
            log_line("app " + name + " crashed: " + instance.crash);
            append_note(name, instance, "the VM crashed: " + instance.crash);
        }
        instance.pidfd.reset();
        instance.control.reset();
        instance.pid = -1;
        if (instance.cgroup) (void)instance.cgroup->remove();
        instance.cgroup.reset();
        stop_helpers(instance, "");
        if (instance.network) {
            (void)network::tear_down_app_link(app_link(name, *instance.network));
            instance.network.reset();
            (void)refresh_firewall();
        }
        ::unlink(instance_file(name).c_str());
        // The run directory's tmpfs goes with the VM (its console log is not read back: the
        // VMM's uid controlled it).
        (void)::umount2(run_dir(config.paths, name).c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    }

    // The addresses of a VM recorded as having a network device.
    [[nodiscard]] std::optional<network::AppAddresses> network_of(const std::string& name,
                                                                  const json::Value* recorded) const {
        const json::Value* has_network = recorded != nullptr ? recorded->find("network") : nullptr;
        if (has_network == nullptr || !has_network->is_bool() || !has_network->as_bool()) return std::nullopt;
        auto registry = apps::Registry::load(config.paths.state_dir);
        const apps::AppRecord* record = registry ? registry->find(name) : nullptr;
        if (record == nullptr) return std::nullopt;
        auto addresses = network::app_addresses(record->uid - apps::kFirstAppUid);
        if (!addresses) return std::nullopt;
        return *addresses;
    }

    void reattach() {
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(config.paths.runtime_dir + "/instances", error)) {
            const std::string file = entry.path().filename().string();
            if (!file.ends_with(".json")) continue;
            const std::string name = file.substr(0, file.size() - 5);
            auto bytes = read_file_bounded(entry.path().string(), 4096);
            auto document = bytes ? json::parse(*bytes) : Result<json::Value>(fail(bytes.error()));
            const json::Value* pid = document ? document->find("pid") : nullptr;
            const json::Value* ticks = document ? document->find("start_ticks") : nullptr;
            Instance& instance = instances[name];
            // The pidfd first, then the start time: if the check passes, the pidfd is the VM's.
            UniqueFd pidfd;
            if (pid != nullptr && pid->is_integer() && pid->as_integer() > 1) {
                pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid->as_integer()), 0)));
            }
            if (pidfd.valid() && ticks != nullptr && ticks->is_integer() && ticks->as_integer() > 0 &&
                process_start_ticks(static_cast<pid_t>(pid->as_integer())) ==
                    static_cast<std::uint64_t>(ticks->as_integer())) {
                instance.pid = static_cast<pid_t>(pid->as_integer());
                instance.start_ticks = static_cast<std::uint64_t>(ticks->as_integer());
                instance.pidfd = std::move(pidfd);
                instance.control_socket = run_dir(config.paths, name) + "/control.sock";
                instance.state = VmState::running;
                instance.network = network_of(name, &*document);
                if (instance.network) {
                    // Its veth leads into the provider it was started with: if that is not the one
                    // we have now (or we have none), our firewall cannot govern it, so it is cut.
                    const json::Value* recorded_provider = document->find("provider");
                    const json::Value* cut = document->find("uplink_cut");
                    const bool same = recorded_provider != nullptr && recorded_provider->is_string() &&
                                      !provider_identity().empty() &&
                                      recorded_provider->as_string() == provider_identity();
                    instance.uplink_cut = cut != nullptr && cut->is_bool() && cut->as_bool();
                    if (!same && !instance.uplink_cut) cut_network(name, instance);
                }
                if (const json::Value* helpers = document->find("helpers"); helpers != nullptr && helpers->is_array()) {
                    for (const json::Value& helper : helpers->as_array()) reattach_helper(instance, helper);
                }
                log_line("re-attached to the VM of " + name + " (pid " + std::to_string(instance.pid) + ")");
                continue;
            }
            instance.state = VmState::crashed;
            instance.crash = "the VM stopped while bulkheadd was not running";
            // What served it may still run (a forwarder holding its loopback ports): it goes.
            if (const json::Value* helpers = document ? document->find("helpers") : nullptr;
                helpers != nullptr && helpers->is_array()) {
                for (const json::Value& helper : helpers->as_array()) reattach_helper(instance, helper);
                stop_helpers(instance, "");
            }
            if (const auto leftover = network_of(name, document ? &*document : nullptr)) {
                (void)network::tear_down_app_link(app_link(name, *leftover));
            }
            ::unlink(entry.path().c_str());
        }
    }

    // The socket lives in a directory the app's uid can write: it is opened without following
    // a symlink, and the peer must be this VM's VMM, so a compromised VMM cannot point bulkheadd
    // at another app's socket or anything else on the host.
    // A unix socket the VM's VMM serves, in its run directory (which the VMM can write): opened
    // without following a symlink, and accepted only if the VMM itself is the peer.
    static Result<UniqueFd> connect_vmm_socket(const std::string& path, pid_t vmm) {
        const UniqueFd handle(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat info {};
        if (!handle.valid() || ::fstat(handle.get(), &info) != 0 || !S_ISSOCK(info.st_mode)) {
            return fail(ErrorCode::not_found, path + " is not a socket");
        }
        const std::string via = "/proc/self/fd/" + std::to_string(handle.get());
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, via.c_str(), via.size() + 1);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            return fail(Error::from_errno(errno, "connecting to " + path));
        }
        ucred peer{};
        socklen_t size = sizeof peer;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.pid != vmm) {
            return fail(ErrorCode::permission_denied,
                        path + " is served by another process than the VMM (pid " + std::to_string(vmm) + ")");
        }
        return fd;
    }

    static void connect_control(Instance& instance) {
        if (instance.control.valid() || instance.pid < 0) return;
        auto fd = connect_vmm_socket(instance.control_socket, instance.pid);
        if (!fd) {
            if (fd.error().code == ErrorCode::permission_denied) log_line(fd.error().message);
            return;
        }
        instance.control = std::move(*fd);
        instance.decoder = control::FrameDecoder();
    }

    // The guest did not finish in time: QEMU is asked over QMP to quit (it flushes the state
    // disk first); only if that fails, or QEMU is still there kQuitGraceMs later, is it killed.
    void force_stop(const std::string& name, Instance& instance) const {
        if (!instance.quit_requested) {
            instance.quit_requested = true;
            auto socket = connect_vmm_socket(run_dir(config.paths, name) + "/qmp.sock", instance.pid);
            auto session = socket ? vmm::QmpSession::open(std::move(*socket), kQmpTimeoutMs)
                                  : Result<vmm::QmpSession>(fail(socket.error()));
            auto quit = session ? session->quit(kQmpTimeoutMs) : Result<void>(fail(session.error()));
            if (quit) {
                log_line("app " + name + " did not stop in time; its VMM was told to quit");
                instance.stop_deadline = now_ms() + kQuitGraceMs;
                return;
            }
            log_line("app " + name + " did not stop in time, and QMP failed (" + quit.error().message + ")");
        }
        log_line("killing the VMM of " + name);
        // Through the pidfd: never a signal to whatever process has the number now.
        (void)::syscall(SYS_pidfd_send_signal, instance.pidfd.get(), SIGKILL, nullptr, 0);
        instance.stop_deadline = 0;
    }

    static void send(Instance& instance, const control::Message& message) {
        auto bytes = control::encode(message);
        if (bytes && instance.control.valid()) (void)!::write(instance.control.get(), bytes->data(), bytes->size());
    }

    void read_control(const std::string& name, Instance& instance) const {
        std::array<char, 16384> buffer{};
        const ssize_t got = ::read(instance.control.get(), buffer.data(), buffer.size());
        if (got <= 0) {
            if (got == 0 || (errno != EAGAIN && errno != EINTR)) instance.control.reset();
            return;
        }
        instance.decoder.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
        for (;;) {
            auto frame = instance.decoder.next();
            if (!frame) {
                complain(name, instance, frame.error().message);  // a guest can't stop us
                continue;
            }
            if (!*frame) break;
            auto message = control::from_frame(**frame);
            if (!message) {
                complain(name, instance, message.error().message);
                continue;
            }
            if (std::holds_alternative<control::Hello>(*message)) {
                if (instance.state == VmState::starting) instance.state = VmState::running;
            } else if (const auto* output = std::get_if<control::Output>(&*message)) {
                append_log(name, instance.output_filter.filter(output->data));
            } else if (const auto* exited = std::get_if<control::Exited>(&*message); exited && exited->restarting) {
                append_note(name, instance,
                            (exited->signalled ? "the app was killed by signal " : "the app exited with status ") +
                                std::to_string(exited->code) + "; it is started again");
            } else if (exited != nullptr) {
                instance.exited = *exited;
                append_note(name, instance,
                            (exited->signalled ? "the app was killed by signal " : "the app exited with status ") +
                                std::to_string(exited->code));
                send(instance, control::Shutdown{});  // acknowledges; the guest powers off
            }
        }
    }

    [[nodiscard]] PermissionStore permission_store() const {
        const auto parent = [](const std::string& file) { return fs::path(file).parent_path().string(); };
        return PermissionStore::under(
            config.paths.state_dir, {config.paths.runtime_dir, config.paths.kernel_dir, parent(config.paths.guest_init),
                                     parent(config.paths.port_forwarder), parent(config.paths.module_list)});
    }

    // An installed app's record and its definition as installed.
    Result<std::pair<apps::AppRecord, apps::AppDefinition>> installed_app(const std::string& name) const {
        auto registry = apps::Registry::load(config.paths.state_dir);
        if (!registry) return fail(registry.error());
        const apps::AppRecord* record = registry->find(name);
        if (record == nullptr || record->state != apps::InstallState::installed) {
            return fail(ErrorCode::not_found, "no app named " + name + " is installed");
        }
        auto text_bytes =
            read_file_bounded(apps::app_dir(config.paths.state_dir, name) + "/app.toml", apps::kMaxDefinitionBytes);
        if (!text_bytes) return fail(text_bytes.error());
        auto definition = apps::parse_app_definition(*text_bytes, name + "/app.toml");
        if (!definition) return fail(definition.error());
        return std::pair{*record, std::move(*definition)};
    }

    // Kills the helpers in `role` (all of them when empty).
    static void stop_helpers(Instance& instance, const std::string& role) {
        for (Helper& helper : instance.helpers) {
            if (!role.empty() && helper.role != role) continue;
            if (helper.pidfd.valid()) {
                (void)::syscall(SYS_pidfd_send_signal, helper.pidfd.get(), SIGKILL, nullptr, 0);
                // Through the pidfd: the SIGCHLD loop may have reaped it already (then ECHILD at
                // once), and a re-attached helper is not ours to wait for.
                siginfo_t info{};
                (void)::waitid(kPidfdIdType, static_cast<id_t>(helper.pidfd.get()), &info, WEXITED);
            }
            helper.pid = -1;
        }
        std::erase_if(instance.helpers, [](const Helper& helper) { return helper.pid < 0; });
    }

    static Helper track_helper(pid_t pid, std::string role) {
        return Helper{pid, process_start_ticks(pid).value_or(0),
                      UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))), std::move(role)};
    }

    static json::Value helpers_record(const Instance& instance) {
        json::Array out;
        for (const Helper& helper : instance.helpers) {
            out.push_back(object({{"pid", json::Value(static_cast<std::int64_t>(helper.pid))},
                                  {"start_ticks", json::Value(static_cast<std::int64_t>(helper.start_ticks))},
                                  {"role", text(helper.role)}}));
        }
        return json::Value(std::move(out));
    }

    // A helper an earlier bulkheadd started, if it is still that process.
    static void reattach_helper(Instance& instance, const json::Value& recorded) {
        const json::Value* pid = recorded.find("pid");
        const json::Value* ticks = recorded.find("start_ticks");
        const json::Value* role = recorded.find("role");
        if (pid == nullptr || !pid->is_integer() || pid->as_integer() <= 1 || ticks == nullptr ||
            !ticks->is_integer() || role == nullptr || !role->is_string()) {
            return;
        }
        const auto helper_pid = static_cast<pid_t>(pid->as_integer());
        UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, helper_pid, 0)));
        if (pidfd.valid() && process_start_ticks(helper_pid) == static_cast<std::uint64_t>(ticks->as_integer())) {
            instance.helpers.push_back(Helper{helper_pid, static_cast<std::uint64_t>(ticks->as_integer()),
                                              std::move(pidfd), role->as_string()});
        }
    }

    // The forwarder for the app's expose-port grants (none: none runs): it binds nothing itself
    // and runs in the app's namespace as the app's uid, in its cgroup (network/port_forward.hpp).
    // bulkheadd keeps the listening sockets, so a change starts the new forwarder on them before
    // the old one goes: a port that stays granted is never let go for someone else to take.
    Result<void> start_forwarder(const std::string& name, Instance& instance, uid_t uid,
                                 const std::vector<permissions::Permission>& granted) const {
        std::map<std::uint16_t, UniqueFd> ports;
        std::vector<std::pair<std::uint16_t, std::uint16_t>> wanted;  // host port, guest port
        for (const permissions::Permission& permission : granted) {
            if (permission.kind == permissions::Kind::expose_port)
                wanted.emplace_back(permission.host_port, permission.port);
        }
        for (int attempt = 0; attempt < 2; ++attempt) {
            Result<void> bound;
            for (const auto& [host_port, guest_port] : wanted) {
                if (ports.contains(host_port)) continue;
                if (auto kept = instance.exposed_ports.find(host_port); kept != instance.exposed_ports.end()) {
                    ports.emplace(host_port, UniqueFd(::fcntl(kept->second.get(), F_DUPFD_CLOEXEC, 3)));
                    continue;
                }
                auto port = network::listen_on_loopback(host_port);
                if (!port) {
                    bound = fail(port.error());
                    break;
                }
                ports.emplace(host_port, std::move(*port));
            }
            if (bound) break;
            // A forwarder re-attached after a bulkheadd restart holds ports we no longer have:
            // it goes first, then the ports are bound again (once).
            if (attempt == 1 || instance.helpers.empty()) return bound;
            stop_helpers(instance, "port-forward");
        }
        const std::vector<pid_t> old_forwarders = [&] {
            std::vector<pid_t> pids;
            for (const Helper& helper : instance.helpers) {
                if (helper.role == "port-forward") pids.push_back(helper.pid);
            }
            return pids;
        }();
        if (!wanted.empty()) {
            // Jailed like the VMM: only /usr and itself to see, the app's uid, no capabilities,
            // its listening sockets from 3 on, in the app's cgroup, and the app's network.
            auto jail = prepare_jail_root(config.paths, name + ".forward");
            if (!jail) return fail(jail.error());
            auto app_namespace_fd = network::open_network_namespace(app_namespace(name));
            if (!app_namespace_fd) return fail(app_namespace_fd.error());
            if (!instance.cgroup) return fail(ErrorCode::internal, "the VM of " + name + " has no cgroup");
            jailer::JailSpec spec;
            spec.uid = uid;
            spec.gid = uid;
            spec.root = *jail;
            spec.binds = {{"/usr", "/usr", false}, {config.paths.port_forwarder, "/bulkhead/port-forward", false}};
            spec.devices = {"/dev/null"};
            spec.argv = {"/bulkhead/port-forward"};
            spec.max_open_files = 256;
            spec.network_namespace = app_namespace_fd->get();
            int next_fd = 3;
            for (const auto& [host_port, guest_port] : wanted) {
                spec.pass_fds.emplace_back(ports.at(host_port).get(), next_fd);
                spec.argv.push_back(network::format_forward_argument({next_fd, instance.network->guest, guest_port}));
                ++next_fd;
            }
            auto jailed = jailer::spawn_jailed(spec, *instance.cgroup);
            if (!jailed) return fail(jailed.error());
            instance.helpers.push_back(track_helper(jailed->pid, "port-forward"));
        }
        Instance leaving;  // the old forwarders, which go now that the new one serves
        std::vector<Helper> staying;
        for (Helper& helper : instance.helpers) {
            const bool old =
                std::find(old_forwarders.begin(), old_forwarders.end(), helper.pid) != old_forwarders.end();
            (old ? leaving.helpers : staying).push_back(std::move(helper));
        }
        instance.helpers = std::move(staying);
        stop_helpers(leaving, "");
        instance.exposed_ports = std::move(ports);
        return {};
    }

    // The app's namespace, links and tap, before its VM starts.
    Result<std::pair<network::AppAddresses, UniqueFd>> prepare_network(const std::string& name,
                                                                       const apps::AppRecord& record) const {
        if (!provider.valid()) {
            return fail(ErrorCode::unsupported,
                        name +
                            " is granted network, but bulkheadd was started without a network provider "
                            "(--network-provider); not started");
        }
        auto addresses = network::app_addresses(record.uid - apps::kFirstAppUid);
        if (!addresses) return fail(addresses.error());
        if (::mkdir((config.paths.runtime_dir + "/netns").c_str(), 0755) != 0 && errno != EEXIST) {
            return fail(Error::from_errno(errno, "creating " + config.paths.runtime_dir + "/netns"));
        }
        auto tap = network::set_up_app_link(app_link(name, *addresses));
        if (!tap) return fail(tap.error());
        return std::pair{*addresses, std::move(*tap)};
    }

    // A start that did not complete: everything made for it goes.
    void abandon_start(const std::string& name, Instance& instance) {
        if (instance.pid > 0) {
            if (instance.pidfd.valid()) {
                (void)::syscall(SYS_pidfd_send_signal, instance.pidfd.get(), SIGKILL, nullptr, 0);
            } else {
                ::kill(instance.pid, SIGKILL);  // still our unreaped child: the number is ours
            }
            ::waitpid(instance.pid, nullptr, 0);
        }
        stop_helpers(instance, "");
        if (instance.cgroup) (void)instance.cgroup->remove();
        (void)::umount2(run_dir(config.paths, name).c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
        const bool had_network = instance.network.has_value();
        if (instance.network) (void)network::tear_down_app_link(app_link(name, *instance.network));
        instance = Instance();
        if (had_network) (void)refresh_firewall();
    }

    // The firewall could not follow a change: the VM is cut from the provider instead (and
    // killed if even that fails), so a revoke never leaves access in place.
    void cut_network(const std::string& name, Instance& instance) const {
        if (auto cut = network::cut_app_link(app_namespace(name)); !cut) {
            log_line("cannot cut the network of " + name + " (" + cut.error().message + "); its VM is killed");
            (void)::syscall(SYS_pidfd_send_signal, instance.pidfd.get(), SIGKILL, nullptr, 0);
            return;
        }
        instance.uplink_cut = true;
        log_line("the network of " + name + " was cut");
        record_instance(name, instance);
    }

    Result<json::Object> start_app(const std::string& name, uid_t actor) {
        auto app = installed_app(name);
        if (!app) return fail(app.error());
        const apps::AppRecord& record = app->first;
        const apps::AppDefinition& definition = app->second;
        Instance& instance = instances[name];
        if (instance.pid > 0) return fail(ErrorCode::invalid_argument, name + " is running already");
        const PermissionStore store = permission_store();
        auto granted = permissions_for_start(store, name);
        if (!granted) {
            (void)audit_start(store, name, actor, {}, &granted.error());
            return fail(granted.error());
        }
        std::optional<network::AppAddresses> addresses;
        UniqueFd tap;
        std::optional<VmNetwork> vm_network;
        if (needs_network_device(*granted)) {
            auto prepared = prepare_network(name, record);
            if (!prepared) {
                (void)audit_start(store, name, actor, *granted, &prepared.error());
                return fail(prepared.error());
            }
            addresses = prepared->first;
            tap = std::move(prepared->second);
            vm_network =
                VmNetwork{tap.get(), addresses->mac, {addresses->guest, addresses->kPrefix, addresses->gateway}};
        }
        // Each files grant's directory, checked and opened again now: a path that has become a
        // symlink since the grant, or has gone, refuses the start.
        std::vector<ShareToServe> shares;
        for (const permissions::Permission& permission : *granted) {
            if (permission.kind != permissions::Kind::files) continue;
            auto directory = open_shared_directory(permission.path, permission.writable, store.protected_dirs);
            if (!directory) {
                if (addresses) (void)network::tear_down_app_link(app_link(name, *addresses));
                (void)audit_start(store, name, actor, *granted, &directory.error());
                return fail(directory.error());
            }
            shares.push_back({std::move(*directory), permission.path, permission.writable});
        }
        auto launched = launch_vm(config.paths, record, definition, *backend, vm_network, shares);
        tap.reset();  // the VMM holds the tap now
        if (!launched) {
            if (addresses) (void)network::tear_down_app_link(app_link(name, *addresses));
            (void)audit_start(store, name, actor, *granted, &launched.error());
            return fail(launched.error());
        }
        instance = Instance();
        instance.state = VmState::starting;
        instance.pid = launched->pid;
        instance.start_ticks = launched->start_ticks;
        instance.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, instance.pid, 0)));
        instance.control_socket = launched->control_socket;
        instance.cgroup = std::move(launched->cgroup);
        instance.network = addresses;
        for (const pid_t server : launched->file_servers) instance.helpers.push_back(track_helper(server, "files"));
        // The rest must all work, or the VM does not run: no VM without its exposed ports, its
        // firewall rules (fail closed) or its start on record.
        auto completed = [&]() -> Result<void> {
            if (!instance.pidfd.valid() || instance.start_ticks == 0) {
                return fail(ErrorCode::internal, "cannot supervise the new VM (no pidfd or start time)");
            }
            if (instance.network) {
                if (auto forwarding = start_forwarder(name, instance, record.uid, *granted); !forwarding) {
                    return forwarding;
                }
                if (auto firewall = refresh_firewall(); !firewall) return firewall;
            }
            return audit_start(store, name, actor, *granted, nullptr);
        }();
        if (!completed) {
            abandon_start(name, instance);
            const Error refusal{completed.error().code, "not started: " + completed.error().message};
            (void)audit_start(store, name, actor, *granted, &refusal);
            return fail(refusal);
        }
        record_instance(name, instance);
        append_note(name, instance, "started");
        return json::Object{{"started", text(name)}};
    }

    Result<json::Object> stop_app(const std::string& name) {
        auto found = instances.find(name);
        if (found == instances.end() || found->second.pid < 0) {
            return fail(ErrorCode::invalid_argument, name + " is not running");
        }
        Instance& instance = found->second;
        instance.stop_requested = true;
        instance.stop_deadline = now_ms() + kStopGraceMs;
        connect_control(instance);
        send(instance, control::Shutdown{});
        return json::Object{{"stopping", text(name)}};
    }

    Result<json::Object> status_of(const std::string& name) {
        auto registry = apps::Registry::load(config.paths.state_dir);
        if (!registry) return fail(registry.error());
        const apps::AppRecord* record = registry->find(name);
        if (record == nullptr || record->state != apps::InstallState::installed) {
            return fail(ErrorCode::not_found, "no app named " + name + " is installed");
        }
        const auto found = instances.find(name);
        json::Object status{
            {"name", text(name)},
            {"version", text(record->version)},
            {"uid", json::Value(static_cast<std::int64_t>(record->uid))},
            {"state", text(state_name(found == instances.end() ? VmState::stopped : found->second.state))}};
        if (found != instances.end()) {
            const Instance& instance = found->second;
            if (instance.pid > 0) status.emplace_back("vmm_pid", json::Value(static_cast<std::int64_t>(instance.pid)));
            if (instance.exited) {
                status.emplace_back("exit",
                                    object({{"signalled", json::Value(instance.exited->signalled)},
                                            {"code", json::Value(static_cast<std::int64_t>(instance.exited->code))}}));
            }
            if (!instance.crash.empty()) status.emplace_back("crash", text(instance.crash));
        }
        return status;
    }

    Result<json::Object> change_permission(const Request& request, uid_t actor) {
        auto app = installed_app(request.name);
        if (!app) return fail(app.error());
        const PermissionChange change{request.name, request.permission, request.force, actor};
        const bool granting = request.op == Op::grant;
        auto changed = granting ? grant_permission(permission_store(), app->second, change)
                                : revoke_permission(permission_store(), change);
        if (!changed) return fail(changed.error());
        const std::string text = permissions::format_permission(*changed);
        json::Object answer{{granting ? "granted" : "revoked", json::Value(text)}, {"name", json::Value(request.name)}};
        const auto found = instances.find(request.name);
        const bool running = found != instances.end() && found->second.pid > 0;
        std::string effect = "when the app is next started";
        if (running) {
            // A running VM with a network device follows network and expose-port grants at once;
            // a VM without one gets a device only when it starts again; shares change at a start.
            Instance& instance = found->second;
            const permissions::Kind kind = changed->kind;
            const bool network_kind = kind == permissions::Kind::network || kind == permissions::Kind::expose_port;
            effect = "when the app is started again";
            if (network_kind && !instance.network) effect += " (its VM has no network device now)";
            if (network_kind && instance.network && instance.uplink_cut) effect += " (its network was cut)";
            if (kind == permissions::Kind::network && instance.network && !instance.uplink_cut) {
                if (auto refreshed = refresh_firewall(); refreshed) {
                    effect = "now";
                } else {
                    cut_network(request.name, instance);
                    effect = "now: the firewall could not be updated (" + refreshed.error().message +
                             "), so the VM's network was cut until the app is started again";
                }
            }
            if (kind == permissions::Kind::expose_port && instance.network) {
                auto granted = permissions_for_start(permission_store(), request.name);
                auto forwarding = granted ? start_forwarder(request.name, instance, app->first.uid, *granted)
                                          : Result<void>(fail(granted.error()));
                if (forwarding) {
                    effect = "now";
                } else if (!granting) {
                    // Failing closed: every exposed port of the VM is closed.
                    stop_helpers(instance, "port-forward");
                    instance.exposed_ports.clear();
                    effect = "now: its ports could not be served again (" + forwarding.error().message +
                             "), so all its exposed ports were closed until the app is started again";
                } else {
                    record_instance(request.name, instance);
                    return fail(forwarding.error().code, "granted and recorded, but not applied to the running VM (" +
                                                             forwarding.error().message +
                                                             "); it applies when the app is started again");
                }
                record_instance(request.name, instance);
            }
        }
        answer.emplace_back("effect", json::Value(effect));
        return answer;
    }

    std::string handle(const Client& client, std::string_view line) {
        auto request = parse_request(line);
        if (!request) return error_response(request.error().code, request.error().message);
        if (client.uid != 0 && !allowed_for_desktop_users(request->op)) {
            if (request->op == Op::grant) {
                const std::string reason = "granting permissions needs root";
                audit_refusal(permission_store(), request->name, client.uid, "grant", reason);
                return error_response(ErrorCode::permission_denied, reason);
            }
            return error_response(ErrorCode::permission_denied, "installing and removing apps needs root");
        }
        const std::string what(op_name(request->op));
        const std::string& name = request->name;
        Result<json::Object> result = fail(ErrorCode::internal, "unhandled op");
        if (what == "list") {
            auto registry = apps::Registry::load(config.paths.state_dir);
            if (!registry) return error_response(registry.error().code, registry.error().message);
            json::Array list;
            for (const apps::AppRecord& record : registry->records()) {
                if (record.state != apps::InstallState::installed) continue;
                auto status = status_of(record.name);
                if (status) list.push_back(object(std::move(*status)));
            }
            result = json::Object{{"apps", json::Value(std::move(list))}};
        } else if (what == "add") {
            auto added = apps::add_app(
                config.paths.state_dir, request->definition, {},
                [&](const std::string& app) {
                    const auto found = instances.find(app);
                    return found != instances.end() && found->second.pid > 0;
                },
                request->replace);
            if (added) {
                result = json::Object{{"added", text(added->name)},
                                      {"uid", json::Value(static_cast<std::int64_t>(added->uid))}};
            } else {
                result = fail(added.error());
            }
        } else if (what == "remove") {
            if (const auto found = instances.find(name); found != instances.end() && found->second.pid > 0) {
                return error_response(ErrorCode::invalid_argument, name + " is running; stop it first");
            }
            auto registry = apps::Registry::load(config.paths.state_dir);
            const apps::AppRecord* record = registry ? registry->find(name) : nullptr;
            if (record != nullptr && record->state == apps::InstallState::installed) {
                if (auto forgotten = forget_grants(permission_store(), name, client.uid); !forgotten) {
                    return error_response(forgotten.error().code,
                                          "not removed: its grants could not be removed: " + forgotten.error().message);
                }
            }
            auto removed = apps::remove_app(config.paths.state_dir, name, request->purge);
            if (removed) {
                instances.erase(name);
                // What bulkheadd made for the app's VMs: all root-owned, none of it the app's data.
                std::error_code ignored;
                (void)::umount2(run_dir(config.paths, name).c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
                (void)::rmdir(run_dir(config.paths, name).c_str());
                fs::remove_all(config.paths.runtime_dir + "/jail/" + name, ignored);
                fs::remove_all(config.paths.runtime_dir + "/jail/" + name + ".forward", ignored);
                (void)::unlink((config.paths.runtime_dir + "/initrd/" + name).c_str());
                result = json::Object{{"removed", text(name)}};
            } else {
                result = fail(removed.error());
            }
        } else if (what == "start") {
            result = start_app(name, client.uid);
        } else if (what == "permissions") {
            auto app = installed_app(name);
            result =
                app ? describe_permissions(permission_store(), app->second) : Result<json::Object>(fail(app.error()));
        } else if (what == "grant" || what == "revoke") {
            result = change_permission(*request, client.uid);
        } else if (what == "audit") {
            auto entries = read_audit_entries(permission_store(), {request->app, request->action, request->since});
            result = entries ? Result<json::Object>(json::Object{{"entries", json::Value(std::move(*entries))}})
                             : Result<json::Object>(fail(entries.error()));
        } else if (what == "stop") {
            result = stop_app(name);
        } else if (what == "status") {
            result = status_of(name);
        } else if (what == "logs") {
            auto status = status_of(name);
            if (!status) return error_response(status.error().code, status.error().message);
            auto log = read_file_bounded(log_file(name), kMaxLogBytes * 2);
            std::string tail = log ? *log : std::string();
            if (tail.size() > kLogTailBytes) {
                // Cut at a line start: a cut inside a line could strip the "[app] " in front of a
                // guest line that imitates one of our notes.
                tail = tail.substr(tail.size() - kLogTailBytes);
                const std::size_t line_end = tail.find('\n');
                tail = line_end == std::string::npos ? std::string() : tail.substr(line_end + 1);
            }
            // The guest's bytes, made valid UTF-8 so the response is always valid JSON.
            result = json::Object{{"name", text(name)}, {"output", json::Value(valid_utf8(tail))}};
        }
        if (!result) return error_response(result.error().code, result.error().message);
        json::Object response = std::move(*result);
        response.emplace_back("ok", json::Value(true));
        return json::to_json(object(std::move(response))) + "\n";
    }
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::start(DaemonConfig config) {
    auto impl = std::make_unique<Impl>();
    if (config.socket_path.empty()) config.socket_path = config.paths.runtime_dir + "/bulkheadd.sock";
    for (const std::string& dir :
         {config.paths.state_dir, config.paths.state_dir + "/logs", config.paths.state_dir + "/grants",
          config.paths.runtime_dir, config.paths.runtime_dir + "/instances"}) {
        if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
            return fail(Error::from_errno(errno, "creating " + dir));
    }
    (void)::chmod((config.paths.state_dir + "/logs").c_str(), 0700);
    (void)::chmod((config.paths.state_dir + "/grants").c_str(), 0700);
    (void)::chmod((config.paths.runtime_dir + "/instances").c_str(), 0700);
    // Before anyone is served: an add cut short by our last death is undone.
    auto undone = apps::recover_interrupted_adds(config.paths.state_dir);
    if (!undone) return fail(undone.error());
    for (const std::string& name : *undone) log_line("undid the unfinished add of " + name);
    impl->config = std::move(config);
    // The socket appears under its name only once it listens (bound under a temporary name,
    // then renamed), so a client that sees it can connect.
    const std::string& path = impl->config.socket_path;
    const std::string temporary = path + ".new";
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (temporary.size() >= sizeof address.sun_path) {
        return fail(ErrorCode::invalid_argument, "socket path too long: " + path);
    }
    std::memcpy(address.sun_path, temporary.c_str(), temporary.size() + 1);
    impl->listener = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ::unlink(temporary.c_str());
    if (!impl->listener.valid() ||
        ::bind(impl->listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(impl->listener.get(), 16) != 0 || ::chmod(temporary.c_str(), 0666) != 0 ||
        ::rename(temporary.c_str(), path.c_str()) != 0) {
        return fail(Error::from_errno(errno, "listening on " + path));
    }
    // Anyone may connect; SO_PEERCRED decides what they may do.

    sigset_t signals;
    sigemptyset(&signals);
    for (const int signal : {SIGCHLD, SIGTERM, SIGINT}) sigaddset(&signals, signal);
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    impl->signals = UniqueFd(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!impl->config.network_provider.empty()) {
        auto provider = network::open_network_namespace(impl->config.network_provider);
        if (!provider) return fail(provider.error());
        if (auto forwarding = network::enable_forwarding(provider->get()); !forwarding) return fail(forwarding.error());
        impl->provider = std::move(*provider);
    }
    impl->reattach();
    // The firewall as the running VMs' grants say now (replacing what an earlier bulkheadd left).
    if (auto firewall = impl->refresh_firewall(); !firewall) return fail(firewall.error());
    return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Result<void> Daemon::run() {
    Impl& d = *impl_;
    for (;;) {
        std::vector<pollfd> fds{{d.listener.get(), POLLIN, 0}, {d.signals.get(), POLLIN, 0}};
        for (const Client& client : d.clients) {
            // A client that does not read its answers is not read either: its backlog is bounded.
            const auto wanted = static_cast<short>((client.output.size() < kMaxPendingOutput ? POLLIN : 0) |
                                                   (client.output.empty() ? 0 : POLLOUT));
            fds.push_back({client.fd.get(), wanted, 0});
        }
        const std::size_t client_count = d.clients.size();  // the ones polled; accepted ones come next round
        std::vector<std::pair<std::string, bool>> owners;   // per VM fd: app, is_pidfd
        for (auto& [name, instance] : d.instances) {
            if (instance.pid < 0) continue;
            Impl::connect_control(instance);
            if (instance.pidfd.valid()) {
                fds.push_back({instance.pidfd.get(), POLLIN, 0});
                owners.emplace_back(name, true);
            }
            if (instance.control.valid()) {
                fds.push_back({instance.control.get(), POLLIN, 0});
                owners.emplace_back(name, false);
            }
            if (instance.stop_requested && instance.stop_deadline != 0 && now_ms() > instance.stop_deadline) {
                d.force_stop(name, instance);
            }
        }
        if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) return fail(Error::from_errno(errno, "poll"));

        if ((fds[1].revents & POLLIN) != 0) {
            signalfd_siginfo info{};
            while (::read(d.signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
                    log_line("stopping; running VMs are left for the next bulkheadd to re-attach to");
                    return {};
                }
            }
            for (;;) {
                int status = 0;
                const pid_t pid = ::waitpid(-1, &status, WNOHANG);
                if (pid <= 0) break;
                for (auto& [name, instance] : d.instances) {
                    if (instance.pid == pid) {
                        instance.vmm_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
                    }
                }
            }
        }
        if ((fds[0].revents & POLLIN) != 0) {
            UniqueFd accepted(::accept4(d.listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            ucred credentials{};
            socklen_t size = sizeof credentials;
            if (accepted.valid() && ::getsockopt(accepted.get(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0) {
                const bool allowed =
                    credentials.uid == 0 || std::find(d.config.desktop_uids.begin(), d.config.desktop_uids.end(),
                                                      credentials.uid) != d.config.desktop_uids.end();
                // Slots are shared out so that no one user can take them all: each user has at
                // most kClientsPerUser, users without access share kRefusedClients, and the last
                // kReservedForRoot are root's.
                const auto from_same = static_cast<std::size_t>(std::count_if(
                    d.clients.begin(), d.clients.end(),
                    [&](const Client& client) { return allowed ? client.uid == credentials.uid : !client.allowed; }));
                const std::size_t limit = credentials.uid == 0 ? kMaxClients : kMaxClients - kReservedForRoot;
                const std::size_t per_source = allowed ? kClientsPerUser : kRefusedClients;
                if (d.clients.size() < limit && (credentials.uid == 0 || from_same < per_source)) {
                    d.clients.push_back(Client{std::move(accepted), credentials.uid, allowed, {}, {}});
                }
            }
        }
        for (std::size_t i = 0; i < client_count; ++i) {
            Client& client = d.clients[i];
            const short events = fds[2 + i].revents;
            if ((events & POLLIN) != 0) {
                std::array<char, 4096> buffer{};
                const ssize_t got = ::read(client.fd.get(), buffer.data(), buffer.size());
                if (got <= 0) {
                    client.fd.reset();
                    continue;
                }
                client.input.append(buffer.data(), static_cast<std::size_t>(got));
                for (std::size_t end = client.input.find('\n'); end != std::string::npos;
                     end = client.input.find('\n')) {
                    client.output += client.allowed ? d.handle(client, std::string_view(client.input).substr(0, end))
                                                    : error_response(ErrorCode::permission_denied,
                                                                     "this user may not use bulkheadd");
                    client.input.erase(0, end + 1);
                }
                if (client.input.size() > kMaxRequestBytes) {
                    client.output += error_response(ErrorCode::too_large, "a request is at most 64 KiB");
                    client.input.clear();
                }
            }
            if (!client.output.empty() && client.fd.valid()) {
                const ssize_t put = ::write(client.fd.get(), client.output.data(), client.output.size());
                if (put > 0) client.output.erase(0, static_cast<std::size_t>(put));
                if (put < 0 && errno != EAGAIN) client.fd.reset();
            }
            if ((events & (POLLHUP | POLLERR)) != 0 && client.output.empty()) client.fd.reset();
        }
        std::erase_if(d.clients, [](const Client& client) { return !client.fd.valid(); });

        for (std::size_t i = 0; i < owners.size(); ++i) {
            const short events = fds[2 + client_count + i].revents;
            if (events == 0) continue;
            auto found = d.instances.find(owners[i].first);
            if (found == d.instances.end()) continue;
            Instance& instance = found->second;
            if (owners[i].second) {
                // The VMM has exited. Read what the guest still had to say, reap, report.
                for (int reads = 0; instance.control.valid() && reads < kMaxDrainReads; ++reads) {
                    pollfd pending{instance.control.get(), POLLIN, 0};
                    if (::poll(&pending, 1, 0) <= 0) break;
                    d.read_control(found->first, instance);
                }
                int status = 0;
                if (::waitpid(instance.pid, &status, WNOHANG) == instance.pid) {
                    instance.vmm_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
                }
                d.finish(found->first, instance);
            } else if (instance.control.valid()) {
                d.read_control(found->first, instance);
            }
        }
    }
}

}  // namespace bulkhead::manager
