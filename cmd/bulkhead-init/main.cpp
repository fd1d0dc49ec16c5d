// bulkhead-init: PID 1 of the system core (docs/IMAGE.md), started by bulkhead-initrd on the
// verified, read-only root. Not systemd, no shell, no getty, no network set-up: it mounts the
// kernel file systems and tmpfs for /run and /tmp, applies the kernel hardening settings,
// reports the boot's security state on the console (image version, Secure Boot, the verified
// read-only root), then starts bulkheadd and keeps it running. Once bulkheadd answers on its
// socket (the health check), the boot is blessed: `bulkhead system bless` ends systemd-boot's
// try counting for this release and raises the TPM anti-rollback floor to its security version
// (docs/UPDATES.md). A release on trial that never gets there is restarted, so that its tries
// run out and systemd-boot falls back to the blessed one. A blessed boot then installs the
// release on an attached update medium, if there is one (`bulkhead system update --media`): it
// is tried from the next boot on.
// SIGINT (Ctrl-Alt-Del) and
// SIGTERM reboot, SIGUSR2 powers off: bulkheadd is stopped, everything else is killed, file
// systems are synced and unmounted. A static binary; it never exits.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <string>
#include <vector>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace {

using namespace bulkhead;

constexpr const char* kDaemon = "/usr/sbin/bulkheadd";
constexpr const char* kDaemonSocket = "/run/bulkhead/bulkheadd.sock";
constexpr const char* kTool = "/usr/bin/bulkhead";
constexpr std::uint64_t kHealthCheckMs = 180000;
constexpr time_t kRestartPauseSeconds = 2;
constexpr std::uint64_t kStopGraceMs = 10000;

// Kernel settings of the core; a missing one (a kernel built without it) is reported.
constexpr std::array<std::pair<const char*, const char*>, 19> kHardening = {{
    {"kernel/kptr_restrict", "2"},
    {"kernel/dmesg_restrict", "1"},
    {"kernel/unprivileged_bpf_disabled", "1"},
    {"net/core/bpf_jit_harden", "2"},
    {"kernel/kexec_load_disabled", "1"},
    {"kernel/sysrq", "0"},
    {"kernel/perf_event_paranoid", "3"},
    {"kernel/yama/ptrace_scope", "2"},
    {"kernel/core_pattern", "|/bin/false"},
    {"fs/suid_dumpable", "0"},
    {"fs/protected_hardlinks", "1"},
    {"fs/protected_symlinks", "1"},
    {"fs/protected_fifos", "2"},
    {"fs/protected_regular", "2"},
    {"dev/tty/ldisc_autoload", "0"},
    {"vm/unprivileged_userfaultfd", "0"},
    {"vm/mmap_min_addr", "65536"},
    // Nothing on the core needs user namespaces (the jailer runs as root); a compromised VMM
    // must not reach the kernel code they open up.
    {"user/max_user_namespaces", "0"},
    // Last: no module can be loaded from here on (the initrd loaded what the core needs).
    {"kernel/modules_disabled", "1"},
}};

void say(const std::string& line) {
    const std::string text = "bulkhead-init: " + line + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
}

std::uint64_t now_ms() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000 + static_cast<std::uint64_t>(now.tv_nsec) / 1000000;
}

void mount_or_say(const char* source, const char* target, const char* type, unsigned long flags,
                  const char* options = nullptr) {
    ::mkdir(target, 0755);
    if (::mount(source, target, type, flags, options) != 0 && errno != EBUSY) {
        say(Error::from_errno(errno, std::string("mounting ") + target).message);
    }
}

// Returns false when module loading could not be disabled: the core then does not run apps.
bool harden() {
    int missing = 0;
    bool modules_locked = false;
    for (const auto& [name, value] : kHardening) {
        const std::string path = std::string("/proc/sys/") + name;
        const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        const std::string_view text(value);
        if (!fd.valid() || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
            say(Error::from_errno(errno, std::string("setting ") + name).message);
            ++missing;
        } else if (std::string_view(name) == "kernel/modules_disabled") {
            modules_locked = true;
        }
    }
    say("kernel hardening: " + std::to_string(kHardening.size() - static_cast<std::size_t>(missing)) + " of " +
        std::to_string(kHardening.size()) + " settings applied");
    return modules_locked;
}

// What the firmware says about Secure Boot: the SecureBoot variable (4 bytes of attributes,
// then 1 for enabled).
std::string secure_boot_state() {
    auto variable = read_file_bounded("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", 64);
    if (!variable) return "unknown (no EFI variable)";
    if (variable->size() != 5) return "unknown (malformed variable)";
    return (*variable)[4] == 1 ? "enabled" : "disabled";
}

// The root file system as the kernel sees it: its device, type and options.
std::string root_state() {
    auto mounts = read_file_bounded("/proc/self/mountinfo", 1 << 20);
    if (!mounts) return "unknown";
    std::size_t at = 0;
    while (at < mounts->size()) {
        const std::size_t end = std::min(mounts->find('\n', at), mounts->size());
        const std::string line = mounts->substr(at, end - at);
        at = end + 1;
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - TYPE SOURCE SUPER_OPTIONS
        std::vector<std::string> fields;
        for (std::size_t from = 0; from < line.size();) {
            const std::size_t space = std::min(line.find(' ', from), line.size());
            fields.push_back(line.substr(from, space - from));
            from = space + 1;
        }
        if (fields.size() < 10 || fields[4] != "/") continue;
        std::size_t dash = 6;
        while (dash < fields.size() && fields[dash] != "-") ++dash;
        if (dash + 2 >= fields.size()) continue;
        const std::string& source = fields[dash + 2];
        std::string dm_name;
        if (source.starts_with("/dev/dm-")) {
            auto name = read_file_bounded("/sys/block/" + source.substr(5) + "/dm/name", 256);
            if (name) dm_name = name->substr(0, name->find('\n'));
        }
        const bool read_only = fields[5] == "ro" || fields[5].starts_with("ro,");
        return concat({source, dm_name.empty() ? "" : " (" + dm_name + ")", " ", fields[dash + 1],
                       read_only ? " read-only" : " WRITABLE"});
    }
    return "unknown";
}

pid_t start_daemon() {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    ::setsid();
    const std::array<const char*, 12> argv = {kDaemon,
                                              "--state-dir",
                                              "/run/bulkhead-state",
                                              "--kernel-dir",
                                              "/usr/lib/bulkhead/guest-kernel",
                                              "--module-list",
                                              "/usr/lib/bulkhead/guest-kernel/modules.txt",
                                              "--guest-init",
                                              "/usr/lib/bulkhead/bulkhead-guest",
                                              "--accel",
                                              "auto",
                                              nullptr};
    const std::array<const char*, 2> envp = {"PATH=/usr/sbin:/usr/bin", nullptr};
    ::execve(kDaemon, const_cast<char* const*>(argv.data()), const_cast<char* const*>(envp.data()));
    say(Error::from_errno(errno, std::string("starting ") + kDaemon).message);
    ::_exit(127);
}

bool daemon_answers() {
    const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, kDaemonSocket, sizeof address.sun_path - 1);
    return fd.valid() && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

// Runs the bulkhead tool with `argv` (ending in nullptr) and our console as its output; returns
// its exit status (-1 when it could not run or was killed).
int run_tool(const std::array<const char*, 5>& argv) {
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const std::array<const char*, 3> envp = {"PATH=/usr/sbin:/usr/bin", "LC_ALL=C", nullptr};
        ::execve(kTool, const_cast<char* const*>(argv.data()), const_cast<char* const*>(envp.data()));
        say(Error::from_errno(errno, std::string("starting ") + kTool).message);
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The health check, the blessing and then an update from an attached update medium, in a
// child so that PID 1 never waits on any of them.
pid_t start_health_check() {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    const std::uint64_t deadline = now_ms() + kHealthCheckMs;
    while (!daemon_answers()) {
        if (now_ms() > deadline) {
            // A release on trial (systemd-boot counted a try for this boot) that does not come
            // up is restarted, so that its tries run out and the blessed one comes back.
            const std::string counting =
                "/sys/firmware/efi/efivars/LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";
            struct stat variable {};
            if (::stat(counting.c_str(), &variable) == 0) {
                say("health check failed: bulkheadd does not answer; restarting to use up a try of this release");
                ::kill(1, SIGTERM);
            } else {
                say("health check failed: bulkheadd does not answer; this boot is not blessed");
            }
            ::_exit(1);
        }
        timespec pause{0, 500L * 1000 * 1000};
        ::nanosleep(&pause, nullptr);
    }
    say("health check passed: bulkheadd answers; blessing this boot");
    if (run_tool({kTool, "system", "bless", nullptr}) != 0) ::_exit(1);
    // Only a blessed boot takes updates: the slot it runs from is then the fallback.
    const int updated = run_tool({kTool, "system", "update", "--media", nullptr});
    ::_exit(updated == 0 ? 0 : 1);
}

[[noreturn]] void shut_down(pid_t daemon, bool power_off) {
    say(power_off ? "powering off" : "rebooting");
    if (daemon > 0) {
        ::kill(daemon, SIGTERM);
        const std::uint64_t deadline = now_ms() + kStopGraceMs;
        while (now_ms() < deadline && ::waitpid(daemon, nullptr, WNOHANG) == 0) {
            timespec pause{0, 100L * 1000 * 1000};
            ::nanosleep(&pause, nullptr);
        }
    }
    ::kill(-1, SIGTERM);
    timespec grace{2, 0};
    ::nanosleep(&grace, nullptr);
    ::kill(-1, SIGKILL);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    ::sync();
    for (const char* target : {"/tmp", "/run", "/sys/firmware/efi/efivars"}) ::umount2(target, MNT_DETACH);
    ::reboot(power_off ? RB_POWER_OFF : RB_AUTOBOOT);
    for (;;) ::pause();
}

[[noreturn]] void run() {
    sigset_t handled;
    sigemptyset(&handled);
    for (const int signal : {SIGCHLD, SIGINT, SIGTERM, SIGUSR2}) sigaddset(&handled, signal);
    ::pthread_sigmask(SIG_BLOCK, &handled, nullptr);
    const UniqueFd signals(::signalfd(-1, &handled, SFD_CLOEXEC));
    // Ctrl-Alt-Del becomes SIGINT to us instead of an immediate reboot.
    ::reboot(RB_DISABLE_CAD);

    mount_or_say("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2");
    mount_or_say("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_or_say("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
    mount_or_say("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    mount_or_say("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777");
    mount_or_say("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_or_say("efivarfs", "/sys/firmware/efi/efivars", "efivarfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
    const bool hardened = harden();

    const char* version = std::getenv("BULKHEAD_IMAGE_VERSION");  // NOLINT(concurrency-mt-unsafe): one thread
    struct stat tpm {};
    const bool has_tpm = ::stat("/sys/class/tpm/tpm0", &tpm) == 0;
    say(concat({"image ", version != nullptr ? version : "unknown", "; Secure Boot: ", secure_boot_state(),
                "; TPM: ", has_tpm ? "present" : "absent", "; root: ", root_state()}));

    // Without module loading locked, the kernel could still be changed under the apps: bulkheadd
    // does not start, and the console says why.
    pid_t daemon = -1;
    if (hardened) {
        daemon = start_daemon();
        (void)start_health_check();
    } else {
        say("module loading could not be disabled; bulkheadd is not started");
    }
    for (;;) {
        signalfd_siginfo info{};
        if (::read(signals.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
        if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM) shut_down(daemon, false);
        if (info.ssi_signo == SIGUSR2) shut_down(daemon, true);
        for (;;) {
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, WNOHANG);
            if (pid <= 0) break;
            if (pid == daemon && daemon > 0) {
                say("bulkheadd ended (" +
                    (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                         : "status " + std::to_string(WEXITSTATUS(status))) +
                    "); starting it again");
                timespec pause{kRestartPauseSeconds, 0};
                ::nanosleep(&pause, nullptr);
                daemon = start_daemon();
            }
        }
    }
}

}  // namespace

int main() {
    if (::getpid() != 1) {
        say("runs only as PID 1 of the system core");
        return 2;
    }
    try {
        run();
    } catch (const std::exception& unexpected) {
        say(std::string("internal error: ") + unexpected.what());
        shut_down(-1, false);
    }
}
