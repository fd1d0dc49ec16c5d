// Cold start of an app VM through bulkheadd (`bulkhead app start` until the app's first output
// arrives) against bare QEMU booting the same kernel, initramfs and root image to the same point,
// in the same run; and each idle VM's host memory beyond its guest RAM (the VMM's own RSS: the
// process's RSS minus the resident part of the guest RAM mapping, from /proc/PID/smaps).
// Targets (issue 5): start ratio at most 1.05; at most 40 MiB beyond guest RAM per idle VM.
// Run as root (bulkheadd creates a host user): bench/appvm/run.sh.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "control/messages.hpp"
#include "guest/run_spec.hpp"
#include "support/temp_dir.hpp"
#include "vmimage/initramfs.hpp"
#include "vmm/backend.hpp"

extern char** environ;

namespace {

using namespace bulkhead;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kRuns = 3;
constexpr std::uint32_t kGuestMib = 256;
constexpr double kRatioTarget = 1.05;
constexpr double kOverheadTargetMib = 40;

fs::path source_dir;
std::string bin_dir;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "appvm_bench: %s\n", what.c_str());
    std::exit(1);
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) die("cannot start " + argv[0]);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

// The VMM's own resident memory: total RSS minus the resident part of the guest RAM mapping
// (the one mapping as large as the guest's memory, give or take QEMU's alignment slack).
struct Overhead {
    double rss_mib = 0;  // resident beyond the guest RAM
};

Overhead overhead_of(pid_t pid) {
    std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
    std::string line;
    std::uint64_t total_kib = 0;
    std::uint64_t guest_kib = 0;
    bool in_guest_ram = false;
    while (std::getline(smaps, line)) {
        unsigned long long start = 0;
        unsigned long long end = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx ", &start, &end) == 2 && line.find(' ') != std::string::npos &&
            line.find(':') > line.find(' ')) {
            // QEMU maps guest RAM with a little alignment slack around it.
            const std::uint64_t size = end - start;
            const std::uint64_t guest = std::uint64_t{kGuestMib} << 20;
            in_guest_ram = size >= guest && size <= guest + (std::uint64_t{64} << 20);
            continue;
        }
        unsigned long long kib = 0;
        if (std::sscanf(line.c_str(), "Rss: %llu kB", &kib) == 1) {
            total_kib += kib;
            if (in_guest_ram) guest_kib += kib;
        }
    }
    return {static_cast<double>(total_kib - guest_kib) / 1024.0};
}

// Bare QEMU: same backend command line, no daemon, no jail. Seconds until the app's first
// output arrives on the control channel, and the idle overhead measured after it.
std::pair<double, Overhead> bare_run(const testing::TempDir& dir, const std::string& initrd) {
    vmm::VmSpec vm;
    vm.name = "bench";
    vm.kernel = (source_dir / "build-guest/kernel/current/vmlinuz").string();
    vm.initrd = initrd;
    vm.root_image = (dir.path() / "root.erofs").string();
    vm.memory_mib = kGuestMib;
    const fs::path run =
        dir.mkdir("bare-" + std::to_string(::getpid()) + "-" + std::to_string(Clock::now().time_since_epoch().count()));
    vm.console_log = (run / "console.log").string();
    vm.qmp_socket = (run / "qmp.sock").string();
    vm.control_socket = (run / "control.sock").string();
    auto argv = vmm::make_qemu_backend()->command_line(vm);
    if (!argv) die(argv.error().message);
    const auto start = Clock::now();
    const pid_t qemu = spawn(*argv, (run / "qemu.log").string());
    int fd = -1;
    while (fd < 0 && Clock::now() - start < std::chrono::seconds(60)) {
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, vm.control_socket.c_str(), sizeof address.sun_path - 1);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(fd);
            fd = -1;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    control::FrameDecoder decoder;
    double seconds = -1;
    while (seconds < 0 && fd >= 0 && Clock::now() - start < std::chrono::seconds(60)) {
        char buffer[4096];
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got <= 0) break;
        decoder.feed(std::string_view(buffer, static_cast<std::size_t>(got)));
        for (auto frame = decoder.next(); frame && *frame; frame = decoder.next()) {
            auto message = control::from_frame(**frame);
            if (message && std::holds_alternative<control::Output>(*message)) {
                seconds = std::chrono::duration<double>(Clock::now() - start).count();
            }
        }
    }
    std::this_thread::sleep_for(std::chrono::seconds(3));  // idle
    const Overhead overhead = overhead_of(qemu);
    ::kill(qemu, SIGKILL);
    ::waitpid(qemu, nullptr, 0);
    if (fd >= 0) ::close(fd);
    if (seconds < 0) die("bare QEMU: no output from the app");
    return {seconds, overhead};
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) die("usage: appvm_bench SOURCE_DIR BIN_DIR");
    source_dir = argv[1];
    bin_dir = argv[2];
    if (::geteuid() != 0) die("run as root (bulkheadd creates a host user)");
    const testing::TempDir dir;
    fs::permissions(dir.path(), fs::perms::others_exec, fs::perm_options::add);
    const fs::path tree = dir.mkdir("tree");
    for (const char* sub : {"bin", "dev", "proc", "tmp", "state"}) fs::create_directories(tree / sub);
    fs::copy_file("/bin/busybox", tree / "bin/busybox");
    const std::vector<std::string> app_argv = {"/bin/busybox", "sh", "-c", "echo ready; exec busybox sleep 600"};

    // Bare QEMU's inputs: the same initramfs and root image bulkheadd builds.
    auto made = run_program_checked(
        {"/usr/bin/mkfs.erofs", "--quiet", "--all-root", "-T0", (dir.path() / "root.erofs").string(), tree.string()});
    if (!made) die(made.error().message);
    auto modules = vmimage::read_module_list((source_dir / "deps/guest-kernel-modules.txt").string());
    auto spec = guest::make_run_spec(app_argv, {});
    auto initramfs = vmimage::build_app_initramfs(
        {bin_dir + "/bulkhead-guest", (source_dir / "build-guest/kernel/current/modules").string(), *modules}, *spec);
    if (!initramfs) die(initramfs.error().message);
    const std::string initrd = (dir.path() / "initrd").string();
    std::ofstream(initrd, std::ios::binary) << *initramfs;

    // bulkheadd with the app added.
    const std::string name = "bench" + std::to_string(::getpid() % 100000);
    dir.write("bench.toml", "name = \"" + name +
                                "\"\nversion = \"1\"\nimage = \"tree\"\n[run]\ncommand = "
                                "\"/bin/busybox\"\nargs = [\"sh\", \"-c\", \"echo ready; exec busybox sleep 600\"]\n"
                                "[resources]\nmemory_mib = 256\nstate_disk_mib = 0\n");
    const std::string state = (dir.path() / "state").string();
    const std::string socket = (dir.path() / "run/bulkheadd.sock").string();
    const pid_t daemon =
        spawn({bin_dir + "/bulkheadd", "--state-dir", state, "--runtime-dir", (dir.path() / "run").string(),
               "--kernel-dir", (source_dir / "build-guest/kernel/current").string(), "--module-list",
               (source_dir / "deps/guest-kernel-modules.txt").string(), "--guest-init", bin_dir + "/bulkhead-guest",
               "--accel", "tcg"},
              (dir.path() / "daemon.log").string());
    for (int i = 0; i < 200 && !fs::exists(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto app = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {bin_dir + "/bulkhead", "app", "--socket", socket});
        return run_program(args);
    };
    if (auto added = app({"add", (dir.path() / "bench.toml").string()}); !added || added->exit_code != 0) {
        die("adding the app failed: " + (added ? added->err : added.error().message));
    }
    const std::string log = state + "/logs/" + name + ".log";

    std::vector<double> bare;
    std::vector<double> managed;
    std::vector<double> bare_overhead;
    std::vector<double> managed_overhead;
    for (int run = 0; run < kRuns; ++run) {
        const auto [seconds, overhead] = bare_run(dir, initrd);
        bare.push_back(seconds);
        bare_overhead.push_back(overhead.rss_mib);

        const std::size_t before = fs::exists(log) ? fs::file_size(log) : 0;
        const auto start = Clock::now();
        if (auto started = app({"start", name}); !started || started->exit_code != 0) die("start failed");
        double elapsed = -1;
        while (elapsed < 0 && Clock::now() - start < std::chrono::seconds(60)) {
            auto text = read_file_bounded(log, std::size_t{4} << 20);
            if (text && text->find("ready", before) != std::string::npos) {
                elapsed = std::chrono::duration<double>(Clock::now() - start).count();
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        }
        if (elapsed < 0) die("bulkheadd: no output from the app");
        managed.push_back(elapsed);
        std::this_thread::sleep_for(std::chrono::seconds(3));
        auto status = app({"status", name, "--json"});
        const std::size_t at = status ? status->out.find("\"vmm_pid\":") : std::string::npos;
        if (at != std::string::npos) {
            const Overhead measured = overhead_of(std::stoi(status->out.substr(at + 10)));
            managed_overhead.push_back(measured.rss_mib);
        }
        (void)app({"stop", name});
        for (int i = 0; i < 300; ++i) {
            auto now = app({"status", name});
            if (now && now->out.find(": stopped") != std::string::npos) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    (void)app({"remove", "--purge", name});
    ::kill(daemon, SIGTERM);
    ::waitpid(daemon, nullptr, 0);

    const double ratio = median(managed) / median(bare);
    const double overhead = std::max(median(bare_overhead), managed_overhead.empty() ? 0 : median(managed_overhead));
    std::printf("app VM cold start to the app's first output, median of %d (TCG, %u MiB guest):\n", kRuns, kGuestMib);
    std::printf("  bare qemu-system-x86_64:  %.3f s\n", median(bare));
    std::printf("  bulkhead app start:       %.3f s   ratio %.3f (target <= %.2f: %s)\n", median(managed), ratio,
                kRatioTarget, ratio <= kRatioTarget ? "met" : "MISSED");
    std::printf("idle host memory beyond guest RAM: bare %.1f MiB, bulkheadd %.1f MiB (target <= %.0f MiB: %s)\n",
                median(bare_overhead), managed_overhead.empty() ? 0.0 : median(managed_overhead), kOverheadTargetMib,
                overhead <= kOverheadTargetMib ? "met" : "MISSED");
    return 0;
}
