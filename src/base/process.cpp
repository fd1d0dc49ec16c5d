#include "base/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <ctime>

#include "base/mount_attributes.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead {

namespace {

constexpr std::size_t kMaxOutputBytes = std::size_t{1} << 20;
constexpr long kKillGraceMs = 5000;  // how long a killed program may take to be reaped

constexpr long kSysOpenTree = 428;
constexpr long kSysMoveMount = 429;
constexpr unsigned kOpenTreeClone = 1;
constexpr unsigned kMoveMountFromEmptyPath = 0x4;

// A private mount namespace with a tmpfs on /mnt and the directory `view_fd` names bound
// at kReadOnlyViewPath, read-only unless `writable`. The bind is cloned from the descriptor
// itself (open_tree) before leaving the caller's namespace, so no path is looked up again.
int make_view(int view_fd, bool writable) {
    MountAttributes read_only;
    read_only.attr_set = (writable ? 0 : kMountReadOnly) | kMountNoSuid | kMountNoDev;
    // Not recursive: mounts below the directory (a FUSE file system claiming uid 0, say) stay out.
    const long tree = ::syscall(kSysOpenTree, view_fd, "", kOpenTreeClone | O_CLOEXEC | kAtEmptyPath);
    if (tree < 0) return errno;
    const int tree_fd = static_cast<int>(tree);
    if (set_mount_attributes(tree_fd, "", kAtEmptyPath, read_only) != 0 || ::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", "/mnt", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") != 0 ||
        ::mkdir(kReadOnlyViewPath, 0755) != 0 ||
        ::syscall(kSysMoveMount, tree_fd, "", AT_FDCWD, kReadOnlyViewPath, kMoveMountFromEmptyPath) != 0) {
        return errno;
    }
    ::close(tree_fd);
    return 0;
}

// Only async-signal-safe calls between fork and exec: the caller may have threads.
[[noreturn]] void exec_child(const std::vector<char*>& args, char* const* env, int null_fd, int out_fd, int err_fd,
                             int report_fd, const RunOptions& options) {
    int failed = 0;
    if (options.network_namespace >= 0 && ::setns(options.network_namespace, CLONE_NEWNET) != 0) failed = errno;
    if (failed == 0 && options.view >= 0) failed = make_view(options.view, options.view_writable);
    if (failed == 0 && options.max_file_bytes != 0) {
        const rlimit size{options.max_file_bytes, options.max_file_bytes};
        if (::setrlimit(RLIMIT_FSIZE, &size) != 0) failed = errno;
    }
    // dup2 onto itself (the caller had 0, 1 or 2 closed) keeps close-on-exec: cleared then.
    for (const auto& [from, to] : {std::pair{null_fd, 0}, std::pair{out_fd, 1}, std::pair{err_fd, 2}}) {
        if (failed == 0 && (from == to ? ::fcntl(to, F_SETFD, 0) : ::dup2(from, to)) < 0) failed = errno;
    }
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

namespace {

// Forks and execs argv with stdout and stderr on the given descriptors; returns once the
// program has exec'd, or fails with why it could not.
Result<pid_t> start_child(const std::vector<std::string>& argv, const RunOptions& options, int out_fd, int err_fd) {
    if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
        return fail(ErrorCode::invalid_argument, "a program to run needs an absolute path");
    }
    for (const int fd : options.inherit) {
        if (fd <= 2) return fail(ErrorCode::invalid_argument, "descriptors 0 to 2 are the program's standard streams");
    }
    std::array<int, 2> report{};
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
    if (pid == 0) exec_child(args, env.data(), null_fd.get(), out_fd, err_fd, report_write.get(), options);
    report_write.reset();
    int child_errno = 0;
    ssize_t reported = 0;
    do {
        reported = ::read(report_read.get(), &child_errno, sizeof child_errno);
    } while (reported < 0 && errno == EINTR);
    if (reported == static_cast<ssize_t>(sizeof child_errno)) {
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        return fail(Error::from_errno(child_errno, "starting " + argv.front()));
    }
    return pid;
}

}  // namespace

Result<pid_t> spawn_program(const std::vector<std::string>& argv, const RunOptions& options, int output_fd) {
    return start_child(argv, options, output_fd, output_fd);
}

Result<ProgramOutput> run_program(const std::vector<std::string>& argv, const RunOptions& options) {
    std::array<int, 2> out{};
    std::array<int, 2> err{};
    if (::pipe2(out.data(), O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "creating a pipe"));
    UniqueFd out_read(out[0]);
    UniqueFd out_write(out[1]);
    if (::pipe2(err.data(), O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "creating a pipe"));
    UniqueFd err_read(err[0]);
    UniqueFd err_write(err[1]);
    auto started_child = start_child(argv, options, out_write.get(), err_write.get());
    if (!started_child) return fail(started_child.error());
    const pid_t pid = *started_child;
    out_write.reset();
    err_write.reset();

    ProgramOutput output;
    std::array<pollfd, 2> fds{{{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}}};
    int open_streams = 2;
    timespec started{};
    ::clock_gettime(CLOCK_MONOTONIC, &started);
    bool timed_out = false;
    while (open_streams > 0) {
        int wait_ms = -1;
        if (options.timeout_seconds > 0) {
            timespec now{};
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            const long elapsed_ms = (now.tv_sec - started.tv_sec) * 1000 + (now.tv_nsec - started.tv_nsec) / 1000000;
            const long left_ms = static_cast<long>(options.timeout_seconds) * 1000 - elapsed_ms;
            if (left_ms <= 0) {
                // Stopped or slow on purpose, or just stuck: it goes, whatever it is doing.
                ::kill(pid, SIGKILL);
                timed_out = true;
                break;
            }
            wait_ms = static_cast<int>(std::min(left_ms, 1000L));
        }
        const int polled = ::poll(fds.data(), fds.size(), wait_ms);
        if (polled < 0) {
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
    if (options.timeout_seconds <= 0) {
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    } else {
        // The deadline holds for the exit too: a program that closed its output and goes on, or
        // one a SIGKILL cannot end at once (stuck in a driver), must not hold the caller.
        const long limit_ms = static_cast<long>(options.timeout_seconds) * 1000;
        bool killed = timed_out;
        bool reaped = false;
        for (;;) {
            const pid_t ended = ::waitpid(pid, &status, WNOHANG);
            if (ended == pid || (ended < 0 && errno != EINTR)) {
                reaped = ended == pid;
                break;
            }
            timespec now{};
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            const long elapsed_ms = (now.tv_sec - started.tv_sec) * 1000 + (now.tv_nsec - started.tv_nsec) / 1000000;
            if (!killed && elapsed_ms >= limit_ms) {
                ::kill(pid, SIGKILL);
                killed = true;
                timed_out = true;
            }
            if (killed && elapsed_ms >= limit_ms + kKillGraceMs) break;  // left behind, unreaped
            timespec pause{0, 20L * 1000 * 1000};
            ::nanosleep(&pause, nullptr);
        }
        if (!reaped && !timed_out) return fail(Error::from_errno(errno, concat({"waiting for ", argv.front()})));
    }
    if (timed_out) {
        return fail(ErrorCode::timeout, concat({argv.front(), " did not finish within ",
                                                std::to_string(options.timeout_seconds), " s and was killed"}));
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
