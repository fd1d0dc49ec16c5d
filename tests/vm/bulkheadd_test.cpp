// bulkheadd and `bulkhead app` end to end, with real VMs: an app added, started in its own VM
// under its own uid, its output in `app logs`, a daemon restart that re-attaches, a stop, a
// killed VMM reported as a crash, refused requests. Needs root (bulkheadd creates users).
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "support/proc_status.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"
#include "vm/bulkheadd_fixture.hpp"
#include "vmm/qmp.hpp"

extern char** environ;

namespace bulkhead {
namespace {

TEST_F(Bulkheadd, AppLifecycleWithRestartAndCrash) {
    const auto added = app({"add", definition, "--json"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    const long uid = Json::parse(added.out).at("uid").get<long>();
    ASSERT_EQ(app({"start", name}).exit_code, 0);
    ASSERT_TRUE(wait_for_output("Hello from an app VM", 90)) << testing::read_whole_file(dir.path() / "daemon.log");
    Json running = status();
    EXPECT_EQ(running["state"], "running");
    const long vmm = running.at("vmm_pid").get<long>();
    EXPECT_EQ(
        testing::status_field(static_cast<pid_t>(vmm), "Uid"),
        std::to_string(uid) + "\t" + std::to_string(uid) + "\t" + std::to_string(uid) + "\t" + std::to_string(uid));
    EXPECT_EQ(testing::status_field(static_cast<pid_t>(vmm), "CapEff"), "0000000000000000");
    EXPECT_EQ(testing::status_field(static_cast<pid_t>(vmm), "NoNewPrivs"), "1");
    EXPECT_EQ(testing::status_field(static_cast<pid_t>(vmm), "Seccomp"), "2");
    // bulkheadd itself keeps only the capabilities it needs, and so does all it starts.
    std::uint64_t needed = 0;
    for (const int capability :
         {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID,
          CAP_SETPCAP, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CAP_AUDIT_WRITE, CAP_NET_ADMIN})
        needed |= std::uint64_t{1} << capability;
    needed &= std::stoull(testing::status_field(::getpid(), "CapBnd"), nullptr, 16);  // what there was to keep
    std::array<char, 17> mask{};
    std::snprintf(mask.data(), mask.size(), "%016llx", static_cast<unsigned long long>(needed));
    for (const char* set : {"CapEff", "CapPrm", "CapBnd"}) {
        EXPECT_EQ(testing::status_field(daemon_, set), std::string(mask.data())) << set;
    }

    // The daemon goes away and comes back: the VM keeps running and is re-attached.
    stop_daemon();
    EXPECT_EQ(::kill(static_cast<pid_t>(vmm), 0), 0) << "stopping bulkheadd stopped the VM";
    start_daemon();
    EXPECT_EQ(status()["state"], "running");
    EXPECT_EQ(status()["vmm_pid"], vmm);
    ASSERT_EQ(app({"stop", name}).exit_code, 0);
    EXPECT_TRUE(wait_for_state("stopped", 30)) << status().dump();

    // A guest that cannot answer the stop (its vCPUs paused over QMP here) is ended by QEMU's
    // own quit over QMP, not by a kill.
    ASSERT_EQ(app({"start", name}).exit_code, 0);
    ASSERT_TRUE(wait_for_state("running", 60));
    {
        UniqueFd qmp(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const std::string path = (dir.path() / "run/vm" / name / "qmp.sock").string();
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        ASSERT_EQ(::connect(qmp.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << path;
        auto session = vmm::QmpSession::open(std::move(qmp), 5000);
        ASSERT_TRUE(session) << session.error().message;
        ASSERT_TRUE(session->execute("stop", 5000));
    }  // QEMU serves one QMP client at a time: this one leaves for bulkheadd
    ASSERT_EQ(app({"stop", name}).exit_code, 0);
    EXPECT_TRUE(wait_for_state("stopped", 40)) << status().dump();
    const std::string daemon_log = testing::read_whole_file(dir.path() / "daemon.log");
    EXPECT_NE(daemon_log.find("did not stop in time; its VMM was told to quit"), std::string::npos) << daemon_log;
    EXPECT_EQ(daemon_log.find("killing the VMM"), std::string::npos) << daemon_log;

    // A VMM killed from outside is reported as a crash.
    ASSERT_EQ(app({"start", name}).exit_code, 0);
    ASSERT_TRUE(wait_for_state("running", 60));
    ::kill(static_cast<pid_t>(status().at("vmm_pid").get<long>()), SIGKILL);
    ASSERT_TRUE(wait_for_state("crashed", 10)) << status().dump();
    EXPECT_EQ(status()["crash"], "the VMM was killed by signal 9");
    EXPECT_NE(app({"logs", name}).out.find("the VM crashed"), std::string::npos);
}

TEST_F(Bulkheadd, RefusedRequestsChangeNothing) {
    const auto bad = app({"add", dir.write("bad.toml", "name = \"" + name + "\"\nversion = 1\n").string()});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("must be a string"), std::string::npos) << bad.err;
    EXPECT_EQ(app({"list"}).out, "no apps installed\n");
    EXPECT_EQ(app({"start", name}).exit_code, 1);
    EXPECT_EQ(app({"status", "NOT A NAME"}).exit_code, 1);

    // Another user may not talk to bulkheadd at all (it was given no desktop user): the socket
    // is reachable, the answer is a refusal.
    fs::permissions(dir.path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
    std::array<int, 2> errors{};
    ASSERT_EQ(::pipe(errors.data()), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(errors[1], 2);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
        const std::string socket = (dir.path() / "run/bulkheadd.sock").string();
        const std::string client = kBin + "/bulkhead";
        ::execl(client.c_str(), client.c_str(), "app", "--socket", socket.c_str(), "list", nullptr);
        ::_exit(4);
    }
    ::close(errors[1]);
    auto said = read_fd_bounded(errors[0], 65536, "stderr");
    ::close(errors[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    ASSERT_TRUE(said);
    EXPECT_NE(said->find("this user may not use bulkheadd"), std::string::npos) << *said;

    // That user holding as many connections as it can does not lock root out.
    std::array<int, 2> ready{};
    ASSERT_EQ(::pipe(ready.data()), 0);
    const pid_t hog = ::fork();
    if (hog == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
        const std::string socket = (dir.path() / "run/bulkheadd.sock").string();
        std::vector<int> held;
        for (int i = 0; i < 80; ++i) {
            const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) held.push_back(fd);
        }
        (void)!::write(ready[1], "x", 1);
        ::pause();
        ::_exit(0);
    }
    ::close(ready[1]);
    char byte = 0;
    ASSERT_EQ(::read(ready[0], &byte, 1), 1);
    ::close(ready[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // bulkheadd accepts them all
    EXPECT_EQ(app({"list"}).exit_code, 0);
    ::kill(hog, SIGKILL);
    ::waitpid(hog, nullptr, 0);
}

}  // namespace
}  // namespace bulkhead
