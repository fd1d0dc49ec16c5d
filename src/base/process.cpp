#include "base/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
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

// Only async-signal-safe calls between fork and exec: the caller may have threads.
[[noreturn]] void exec_child(const std::vector<char*>& args, char* const* env, int null_fd, int out_fd, int err_fd,
                             int report_fd, const RunOptions& options) {
    int failed = 0;
    if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) failed = errno;
    for (const int fd : options.inherit) {
        if (failed == 0 && ::fcntl(fd, F_SETFD, 0) != 0) failed = errno;
    }
    // The caller may block signals it reads through a signalfd, or ignore SIGPIPE; the
    // program starts with neither.
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    (void)::sigaction(SIGPIPE, &default_action, nullptr);
    if (failed == 0 && options.as) {
        // Groups, then gid, then uid: each later step needs the privilege the earlier kept.
        if (::setgroups(0, nullptr) != 0 || ::setresgid(options.as->gid, options.as->gid, options.as->gid) != 0 ||
            ::setresuid(options.as->uid, options.as->uid, options.as->uid) != 0 ||
            ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            failed = errno;
        }
    }
    if (failed == 0) {
        ::execve(args[0], args.data(), env);
        failed = errno;
    }
    (void)!::write(report_fd, &failed, sizeof failed);
    ::_exit(127);
}

}  // namespace

Result<ProgramOutput> run_program(const std::vector<std::string>& argv, const RunOptions& options) {
    if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
        return fail(ErrorCode::invalid_argument, "a program to run needs an absolute path");
    }
    for (const int fd : options.inherit) {
        if (fd <= 2) return fail(ErrorCode::invalid_argument, "descriptors 0 to 2 are the program's standard streams");
    }
    std::array<int, 2> out{};
    std::array<int, 2> err{};
    std::array<int, 2> report{};
    if (::pipe2(out.data(), O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "creating a pipe"));
    UniqueFd out_read(out[0]);
    UniqueFd out_write(out[1]);
    if (::pipe2(err.data(), O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "creating a pipe"));
    UniqueFd err_read(err[0]);
    UniqueFd err_write(err[1]);
    // Closed by a successful exec; otherwise the child writes why it failed.
    if (::pipe2(report.data(), O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "creating a pipe"));
    UniqueFd report_read(report[0]);
    UniqueFd report_write(report[1]);
    const UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_fd.valid()) return fail(Error::from_errno(errno, "opening /dev/null"));

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    std::array<char*, 3> env = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), const_cast<char*>("LC_ALL=C"),
                                nullptr};
    const pid_t pid = ::fork();
    if (pid < 0) return fail(Error::from_errno(errno, "starting " + argv.front()));
    if (pid == 0) {
        exec_child(args, env.data(), null_fd.get(), out_write.get(), err_write.get(), report_write.get(), options);
    }
    out_write.reset();
    err_write.reset();
    report_write.reset();
    int child_errno = 0;
    ssize_t reported = 0;
    do {
        reported = ::read(report_read.get(), &child_errno, sizeof child_errno);
    } while (reported < 0 && errno == EINTR);
    if (reported == static_cast<ssize_t>(sizeof child_errno)) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return fail(Error::from_errno(child_errno, "starting " + argv.front()));
    }

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

Result<ProgramOutput> run_program_checked(const std::vector<std::string>& argv, const RunOptions& options) {
    auto output = run_program(argv, options);
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
