// Boots a real app VM: Debian's cloud kernel, our initramfs with bulkhead-guest as PID 1, the
// sample app's erofs root built from busybox-static, under QEMU with the backend's own command
// line, and talks to the guest over the virtio-serial control channel.
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "base/file_io.hpp"
#include "control/messages.hpp"
#include "jailer/jail.hpp"
#include "support/proc_status.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"
#include "vmimage/initramfs.hpp"
#include "vmm/backend.hpp"

extern char** environ;

namespace bulkhead {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kSource = fs::path(BULKHEAD_FIXTURES_DIR).parent_path().parent_path();
const fs::path kKernel = kSource / "build-guest/kernel/current";

struct Conversation {
    std::vector<control::Message> received;
    std::string out;
    std::string err;
    std::optional<control::Exited> exited;
    int qemu_status = -1;
    std::string console;
    std::string vmm_status;  // /proc/PID/status of the VMM, read while the guest was up
};

constexpr uid_t kAppUid = 600124;

class AppVm {
public:
    explicit AppVm(const testing::TempDir& dir) : dir_(dir) {}

    // Builds the root image and initramfs for `argv`, boots, converses until the app exits
    // (acknowledging with shutdown), and returns what was said.
    Conversation run(const std::vector<std::string>& argv, std::chrono::seconds limit, bool jailed = false,
                     guest::Restart restart = guest::Restart::never) {
        Conversation conversation;
        build_root();
        auto modules = vmimage::read_module_list((kSource / "deps/guest-kernel-modules.txt").string());
        EXPECT_TRUE(modules) << modules.error().message;
        auto spec = guest::make_run_spec(argv, {"GREETING=hello from an app VM", "PATH=/bin"});
        EXPECT_TRUE(spec);
        spec->restart = restart;
        auto initramfs = vmimage::build_app_initramfs(
            {std::string(BULKHEAD_BIN_DIR) + "/bulkhead-guest", (kKernel / "modules").string(), *modules}, *spec);
        EXPECT_TRUE(initramfs) << initramfs.error().message;
        std::ofstream(dir_.path() / "initrd", std::ios::binary) << *initramfs;

        // Inside a jail the VMM sees its files under /vm and /run/vm; without one, where they are.
        const fs::path run_dir = dir_.mkdir("run");
        const std::string vm_dir = jailed ? "/vm" : dir_.str();
        const std::string vm_run = jailed ? "/run/vm" : run_dir.string();
        vmm::VmSpec vm;
        vm.name = "hello";
        vm.kernel = jailed ? "/vm/vmlinuz" : (kKernel / "vmlinuz").string();
        vm.initrd = vm_dir + "/initrd";
        vm.root_image = vm_dir + "/root.erofs";
        vm.console_log = vm_run + "/console.log";
        vm.qmp_socket = vm_run + "/qmp.sock";
        vm.control_socket = vm_run + "/control.sock";
        auto argv_qemu = vmm::make_qemu_backend()->command_line(vm);
        EXPECT_TRUE(argv_qemu);
        pid_t qemu = 0;
        if (jailed) {
            const fs::path root = dir_.mkdir("jail");
            for (const char* link : {"lib", "lib64", "bin"}) {
                fs::create_directory_symlink(std::string("usr/") + link, root / link);
            }
            EXPECT_EQ(::chown(run_dir.c_str(), kAppUid, kAppUid), 0);
            fs::permissions(run_dir, fs::perms::owner_all);
            jailer::JailSpec jail;
            jail.uid = kAppUid;
            jail.gid = kAppUid;
            jail.root = root.string();
            jail.binds = {{"/usr", "/usr", false},
                          {(kKernel / "vmlinuz").string(), "/vm/vmlinuz", false},
                          {(dir_.path() / "initrd").string(), "/vm/initrd", false},
                          {(dir_.path() / "root.erofs").string(), "/vm/root.erofs", false},
                          {run_dir.string(), "/run/vm", true}};
            jail.devices = {"/dev/null", "/dev/urandom"};
            jail.argv = *argv_qemu;
            jail.env = {"PATH=/usr/bin"};
            auto cgroup =
                jailer::Cgroup::create("/sys/fs/cgroup", "vm-test-" + std::to_string(::getpid()), {512 << 20, 64, 100});
            EXPECT_TRUE(cgroup) << cgroup.error().message;
            if (cgroup) cgroup_.emplace(std::move(*cgroup));
            auto started = jailer::spawn_jailed(jail, *cgroup_);
            EXPECT_TRUE(started) << started.error().message;
            qemu = started ? started->pid : -1;
        } else {
            std::vector<char*> args;
            for (const std::string& arg : *argv_qemu) args.push_back(const_cast<char*>(arg.c_str()));
            args.push_back(nullptr);
            EXPECT_EQ(::posix_spawn(&qemu, args[0], nullptr, nullptr, args.data(), environ), 0);
        }
        const std::string host_control = (run_dir / "control.sock").string();
        const auto deadline = Clock::now() + limit;
        const int control = qemu > 0 ? connect_when_ready(host_control, qemu, deadline) : -1;
        control::FrameDecoder decoder;
        bool acknowledged = false;
        while (control >= 0 && Clock::now() < deadline) {
            pollfd fd{control, POLLIN, 0};
            if (::poll(&fd, 1, 200) <= 0) continue;
            char buffer[4096];
            const ssize_t got = ::read(control, buffer, sizeof buffer);
            if (got <= 0) break;
            decoder.feed(std::string_view(buffer, static_cast<std::size_t>(got)));
            for (auto frame = decoder.next(); frame && *frame; frame = decoder.next()) {
                auto message = control::from_frame(**frame);
                if (!message) continue;
                if (conversation.received.empty()) {
                    conversation.vmm_status =
                        read_file_bounded("/proc/" + std::to_string(qemu) + "/status", 65536).value_or("");
                }
                conversation.received.push_back(*message);
                if (const auto* output = std::get_if<control::Output>(&*message)) {
                    (output->stream == control::Stream::out ? conversation.out : conversation.err) += output->data;
                }
                if (const auto* exited = std::get_if<control::Exited>(&*message);
                    exited && !exited->restarting && !acknowledged) {
                    conversation.exited = *exited;
                    auto bytes = control::encode(control::Shutdown{});
                    (void)!::write(control, bytes->data(), bytes->size());
                    acknowledged = true;
                }
            }
        }
        if (control >= 0) ::close(control);
        conversation.qemu_status = qemu > 0 ? wait_or_kill(qemu, deadline) : -1;
        conversation.console = testing::read_whole_file(run_dir / "console.log");
        if (cgroup_) (void)cgroup_->remove();
        return conversation;
    }

private:
    void build_root() {
        const fs::path tree = dir_.mkdir("root-tree");
        for (const char* sub : {"bin", "dev", "proc", "tmp", "state"}) fs::create_directories(tree / sub);
        fs::copy_file("/bin/busybox", tree / "bin/busybox");
        const auto made = testing::run_process({"/usr/bin/mkfs.erofs", "--quiet", "--all-root", "-T0",
                                                (dir_.path() / "root.erofs").string(), tree.string()});
        ASSERT_EQ(made.exit_code, 0) << made.err;
    }

    // The VMM's control socket once it listens; -1 if the VMM died first.
    static int connect_when_ready(const std::string& path, pid_t vmm, Clock::time_point deadline) {
        while (Clock::now() < deadline) {
            siginfo_t info{};
            if (::waitid(P_PID, static_cast<id_t>(vmm), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
                info.si_pid == vmm) {
                return -1;
            }
            const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
            ::close(fd);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return -1;
    }

    static int wait_or_kill(pid_t pid, Clock::time_point deadline) {
        int status = 0;
        while (Clock::now() < deadline + std::chrono::seconds(10)) {
            if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return -1;
    }

    const testing::TempDir& dir_;
    std::optional<jailer::Cgroup> cgroup_;
};

TEST(AppVm, TheAppRunsAsAnUnprivilegedUserWithOnlyLoopbackAndItsOutputReachesTheHost) {
    ASSERT_TRUE(fs::exists(kKernel / "vmlinuz")) << "run scripts/setup.sh (it fetches the guest kernel)";
    const testing::TempDir dir;
    AppVm vm(dir);
    const Conversation said =
        vm.run({"/bin/busybox", "sh", "-c",
                "echo \"$GREETING\"; echo uid=$(busybox id -u); busybox cat /proc/net/dev | busybox tail -n +3 | "
                "busybox cut -d: -f1 | busybox tr -d ' '; echo to-stderr >&2; exit 3"},
               std::chrono::seconds(150));
    ASSERT_FALSE(said.received.empty()) << "no message from the guest; console:\n" << said.console;
    ASSERT_TRUE(std::holds_alternative<control::Hello>(said.received.front()));
    EXPECT_NE(std::get<control::Hello>(said.received.front()).guest_version.find("bulkhead-guest"), std::string::npos);
    // The guest's entropy comes from the host through virtio-rng.
    bool rng_reported = false;
    for (const control::Message& message : said.received) {
        if (const auto* log = std::get_if<control::Log>(&message); log && log->text.starts_with("hardware RNG: ")) {
            EXPECT_EQ(log->text, "hardware RNG: virtio_rng.0");
            rng_reported = true;
        }
    }
    EXPECT_TRUE(rng_reported) << said.console;
    EXPECT_NE(said.out.find("hello from an app VM\n"), std::string::npos) << said.out;
    EXPECT_NE(said.out.find("uid=1000\n"), std::string::npos) << said.out;
    // The only network interface the app sees is the loopback.
    const std::string interfaces = said.out.substr(said.out.find("uid=1000\n") + 9);
    EXPECT_EQ(interfaces, "lo\n") << said.out;
    EXPECT_EQ(said.err, "to-stderr\n");
    ASSERT_TRUE(said.exited) << said.console;
    EXPECT_FALSE(said.exited->signalled);
    EXPECT_EQ(said.exited->code, 3U);
    EXPECT_EQ(said.qemu_status, 0) << said.console;
}

TEST(AppVm, AnAppThatFailsIsStartedAgainUnderItsRestartPolicy) {
    ASSERT_TRUE(fs::exists(kKernel / "vmlinuz")) << "run scripts/setup.sh (it fetches the guest kernel)";
    const testing::TempDir dir;
    AppVm vm(dir);
    // Fails twice, then succeeds: /tmp lives as long as the VM, so it counts the runs. Each run
    // leaves a background child holding its output: it must hold up neither a restart nor the end.
    const Conversation said =
        vm.run({"/bin/busybox", "sh", "-c",
                "busybox sleep 600 & n=$(busybox cat /tmp/n 2>/dev/null || echo 0); echo $((n+1)) > /tmp/n; "
                "echo run $n; [ $n -ge 2 ]"},
               std::chrono::seconds(150), false, guest::Restart::on_failure);
    EXPECT_EQ(said.out, "run 0\nrun 1\nrun 2\n") << said.console;
    int restarts = 0;
    for (const control::Message& message : said.received) {
        if (const auto* exited = std::get_if<control::Exited>(&message); exited && exited->restarting) {
            EXPECT_EQ(exited->code, 1U);
            ++restarts;
        }
    }
    EXPECT_EQ(restarts, 2);
    ASSERT_TRUE(said.exited);
    EXPECT_EQ(said.exited->code, 0U);
    EXPECT_FALSE(said.exited->restarting);
    EXPECT_EQ(said.qemu_status, 0) << said.console;
}

TEST(AppVm, AJailedVmmRunsAsTheAppsUserWithNoPrivilegeAndASeccompFilter) {
    ASSERT_TRUE(fs::exists(kKernel / "vmlinuz")) << "run scripts/setup.sh (it fetches the guest kernel)";
    if (::geteuid() != 0) GTEST_SKIP() << "the jailer needs root, as bulkheadd has";
    const testing::TempDir dir;
    fs::permissions(dir.path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
    AppVm vm(dir);
    const Conversation said = vm.run({"/bin/busybox", "echo", "jailed"}, std::chrono::seconds(150), true);
    ASSERT_FALSE(said.received.empty()) << "no message from the guest; console:\n" << said.console;
    EXPECT_EQ(said.out, "jailed\n");
    EXPECT_EQ(testing::status_value(said.vmm_status, "Uid"), "600124\t600124\t600124\t600124") << said.vmm_status;
    EXPECT_EQ(testing::status_value(said.vmm_status, "CapEff"), "0000000000000000");
    EXPECT_EQ(testing::status_value(said.vmm_status, "CapBnd"), "0000000000000000");
    EXPECT_EQ(testing::status_value(said.vmm_status, "NoNewPrivs"), "1");
    EXPECT_EQ(testing::status_value(said.vmm_status, "Seccomp"), "2");  // QEMU's -sandbox
    ASSERT_TRUE(said.exited);
    EXPECT_EQ(said.exited->code, 0U);
    EXPECT_EQ(said.qemu_status, 0) << said.console;
}

}  // namespace
}  // namespace bulkhead
