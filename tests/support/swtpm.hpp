// A real TPM 2.0 for tests: swtpm serving raw TPM commands on a loopback TCP port (the port
// tpm2-tss's swtpm TCTI and tpm2-tools use) with its control channel on the next port. The
// state directory outlives the process, so a test can stop and restart "the machine's TPM".
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace bulkhead::testing {

class Swtpm {
public:
    explicit Swtpm(std::filesystem::path state_dir) : state_dir_(std::move(state_dir)) {
        std::filesystem::create_directories(state_dir_);
        start();
    }
    Swtpm(const Swtpm&) = delete;
    Swtpm& operator=(const Swtpm&) = delete;
    ~Swtpm() { stop(); }

    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] std::string tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(port_); }

    // A connection to the data port, for raw commands; the caller closes it. swtpm serves one
    // connection at a time, so close it before another client (ESAPI, tpm2-tools) connects.
    [[nodiscard]] int connect_data() const { return connect_to(port_); }

    // Stops the process and waits for it, which releases the state directory's lock.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    void restart() {
        stop();
        start();
    }

private:
    static int connect_to(int port) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }

    void start() {
        std::random_device random;
        for (int attempt = 0; attempt < 20; ++attempt) {
            port_ = 20000 + 2 * static_cast<int>(random() % 15000);
            pid_ = ::fork();
            if (pid_ == 0) {
                const std::string server = "type=tcp,port=" + std::to_string(port_) + ",bindaddr=127.0.0.1";
                const std::string ctrl = "type=tcp,port=" + std::to_string(port_ + 1) + ",bindaddr=127.0.0.1";
                const std::string state = "dir=" + state_dir_.string();
                ::execl("/usr/bin/swtpm", "swtpm", "socket", "--tpm2", "--server", server.c_str(), "--ctrl",
                        ctrl.c_str(), "--tpmstate", state.c_str(), "--flags", "not-need-init,startup-clear",
                        static_cast<char*>(nullptr));
                ::_exit(127);
            }
            for (int i = 0; i < 250; ++i) {
                if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // the port was taken: try another
                    pid_ = -1;
                    break;
                }
                const int ctrl = connect_to(port_ + 1);
                if (ctrl >= 0) {
                    ::close(ctrl);
                    return;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            stop();
        }
        throw std::runtime_error("swtpm did not start");
    }

    std::filesystem::path state_dir_;
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace bulkhead::testing
