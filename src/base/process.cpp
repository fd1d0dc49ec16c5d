#include "base/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>

#include "base/unique_fd.hpp"

namespace bulkhead {

namespace {

constexpr std::size_t kMaxOutputBytes = std::size_t{1} << 20;

}  // namespace

Result<ProgramOutput> run_program(const std::vector<std::string>& argv) {
    if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
        return fail(ErrorCode::invalid_argument, "a program to run needs an absolute path");
    }
    std::array<int, 2> out{};
    std::array<int, 2> err{};
    if (::pipe2(out.data(), O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "creating a pipe"));
    UniqueFd out_read(out[0]);
    UniqueFd out_write(out[1]);
    if (::pipe2(err.data(), O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "creating a pipe"));
    UniqueFd err_read(err[0]);
    UniqueFd err_write(err[1]);

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
    ::posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    std::array<char*, 3> env = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), const_cast<char*>("LC_ALL=C"),
                                nullptr};
    // The caller may block signals it reads through a signalfd; the program starts with none.
    posix_spawnattr_t attributes;
    ::posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    ::posix_spawnattr_setsigmask(&attributes, &none);
    ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, args[0], &actions, &attributes, args.data(), env.data());
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attributes);
    if (spawned != 0) return fail(Error::from_errno(spawned, "starting " + argv.front()));
    out_write.reset();
    err_write.reset();

    ProgramOutput output;
    std::array<pollfd, 2> fds{{{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}}};
    int open_streams = 2;
    while (open_streams > 0) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            std::array<char, 8192> buffer{};
            const ssize_t got = ::read(fds[i].fd, buffer.data(), buffer.size());
            if (got <= 0) {
                fds[i].fd = -1;
                --open_streams;
                continue;
            }
            std::string& sink = i == 0 ? output.out : output.err;
            if (sink.size() < kMaxOutputBytes) {
                sink.append(buffer.data(), std::min(static_cast<std::size_t>(got), kMaxOutputBytes - sink.size()));
            }
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return output;
}

Result<ProgramOutput> run_program_checked(const std::vector<std::string>& argv) {
    auto output = run_program(argv);
    if (!output) return output;
    return run_program_checked_output(argv, std::move(*output));
}

Result<ProgramOutput> run_program_checked_output(const std::vector<std::string>& argv, ProgramOutput output) {
    if (output.exit_code != 0) {
        std::string message = output.err;
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
        return fail(ErrorCode::io, argv.front() + " failed (exit " + std::to_string(output.exit_code) + ")" +
                                       (message.empty() ? "" : ": " + message));
    }
    return output;
}

}  // namespace bulkhead
