#include "jailer/jail.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
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
#include <cstdint>
#include <cstring>
#include <set>

#include "base/file_io.hpp"
#include "base/mount_attributes.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::jailer {

namespace {

constexpr std::size_t kStackBytes = std::size_t{256} * 1024;

Result<void> check_spec(const JailSpec& spec) {
    if (spec.uid == 0 || spec.gid == 0) return fail(ErrorCode::invalid_argument, "a jailed VMM never runs as root");
    if (spec.root.empty() || spec.root.front() != '/') {
        return fail(ErrorCode::invalid_argument, "the jail root must be an absolute path");
    }
    struct stat root {};
    if (::lstat(spec.root.c_str(), &root) != 0 || !S_ISDIR(root.st_mode) || root.st_uid != 0 ||
        (root.st_mode & 022U) != 0) {
        return fail(ErrorCode::invalid_argument,
                    "the jail root " + spec.root + " must be a directory owned by root and writable only by it");
    }
    if (spec.argv.empty() || spec.argv.front().empty() || spec.argv.front().front() != '/') {
        return fail(ErrorCode::invalid_argument, "the jailed program must be an absolute path");
    }
    for (const BindMount& bind : spec.binds) {
        if (bind.target.empty() || bind.target.front() != '/' || bind.target.find("..") != std::string::npos) {
            return fail(ErrorCode::invalid_argument,
                        "bind target '" + bind.target + "' must be absolute, without '..'");
        }
    }
    for (const std::string& device : spec.devices) {
        if (!device.starts_with("/dev/") || device.find("..") != std::string::npos) {
            return fail(ErrorCode::invalid_argument, "device '" + device + "' is not below /dev");
        }
    }
    std::set<int> targets;
    for (const auto& [fd, target] : spec.pass_fds) {
        if (fd < 0 || target < 3 || !targets.insert(target).second) {
            return fail(ErrorCode::invalid_argument, "passed descriptors need distinct targets of 3 or more");
        }
    }
    return {};
}

// Everything the child needs, prepared before clone: the child only makes system calls.
struct ChildContext {
    const JailSpec* spec = nullptr;
    int go = -1;      // read end: the parent has moved us into the cgroup
    int report = -1;  // write end, close-on-exec: an error message, or EOF on a successful exec
    std::vector<char*> argv;
    std::vector<char*> env;
};

[[noreturn]] void child_fail(const ChildContext& context, const char* step) {
    const int saved = errno;
    std::string message = std::string(step) + ": " + std::strerror(saved);  // NOLINT(concurrency-mt-unsafe)
    (void)!::write(context.report, message.data(), message.size());
    ::_exit(127);
}

// Creates an empty mount point (directory or file) inside the jail for a bind mount.
bool make_mount_point(const std::string& path, bool directory) {
    std::string partial;
    for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        partial = path.substr(0, slash);
        if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
    if (directory) return ::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

bool bind_into_jail(const std::string& source, const std::string& target, bool writable) {
    struct stat info {};
    if (::stat(source.c_str(), &info) != 0) return false;
    if (!make_mount_point(target, S_ISDIR(info.st_mode))) return false;
    if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return false;
    // The bind carries the source's submounts along; a remount would make only the top one
    // read-only, so the attributes are set on the whole tree at once.
    MountAttributes attributes;
    attributes.attr_set = kMountNoSuid;
    if (!writable) attributes.attr_set |= kMountReadOnly;
    if (!S_ISCHR(info.st_mode) && !S_ISBLK(info.st_mode)) attributes.attr_set |= kMountNoDev;
    return set_mount_attributes(AT_FDCWD, target.c_str(), kAtRecursive, attributes) == 0;
}

int jailed_child(void* argument) {
    // The child's own copy of the context (no CLONE_VM): changing it does not touch the parent's.
    ChildContext& context = *static_cast<ChildContext*>(argument);
    const JailSpec& spec = *context.spec;
    char go = 0;
    if (::read(context.go, &go, 1) != 1) child_fail(context, "waiting for the cgroup");
    // Before its descriptor is closed with the others.
    if (spec.network_namespace >= 0 && ::setns(spec.network_namespace, CLONE_NEWNET) != 0) {
        child_fail(context, "joining the network namespace");
    }
    // Now in its leaf: a cgroup namespace rooted there, so the VMM sees no cgroup above its own.
    if (::unshare(CLONE_NEWCGROUP) != 0) child_fail(context, "creating the cgroup namespace");

    // 1. File descriptors: the passed ones at their numbers, the report pipe, nothing else.
    // Sources and the report pipe first move above every target, so no dup2 lands on one.
    int above = 3;
    for (const auto& [fd, target] : spec.pass_fds) above = std::max(above, target + 1);
    const int moved_report = ::fcntl(context.report, F_DUPFD_CLOEXEC, above);
    if (moved_report < 0) child_fail(context, "moving the report pipe");  // still at its old number
    context.report = moved_report;
    std::vector<std::pair<int, int>> moved;
    for (const auto& [fd, target] : spec.pass_fds) {
        const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, above);
        if (high < 0) child_fail(context, "passing a descriptor");
        moved.emplace_back(high, target);
    }
    for (const auto& [high, target] : moved) {
        if (::dup2(high, target) < 0) child_fail(context, "passing a descriptor");
    }
    for (int fd = 0; fd < 3; ++fd) {
        const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || ::dup2(null, fd) < 0) child_fail(context, "opening /dev/null");
        if (null != fd) {
            ::close(null);
        } else if (::fcntl(fd, F_SETFD, 0) != 0) {  // fd was free: open gave it that number, close-on-exec
            child_fail(context, "opening /dev/null");
        }
    }
    std::set<int> keep{0, 1, 2, context.report};
    for (const auto& [fd, target] : spec.pass_fds) keep.insert(target);
    unsigned next = 3;
    for (const int fd : keep) {
        const auto kept = static_cast<unsigned>(fd);
        if (kept > next && ::close_range(next, kept - 1, 0) != 0) child_fail(context, "closing descriptors");
        next = std::max(next, kept + 1);
    }
    if (::close_range(next, ~0U, 0) != 0) child_fail(context, "closing descriptors");

    // 2. The file system: only the jail, with the host paths bound into it.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(context, "making / private");
    if (::mount(spec.root.c_str(), spec.root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        child_fail(context, "binding the jail root");
    }
    for (const BindMount& mount : spec.binds) {
        if (!bind_into_jail(mount.source, spec.root + mount.target, mount.writable))
            child_fail(context, mount.target.c_str());
    }
    for (const std::string& device : spec.devices) {
        if (!bind_into_jail(device, spec.root + device, true)) child_fail(context, device.c_str());
    }
    const std::string proc = spec.root + "/proc";
    if (!make_mount_point(proc, true) ||
        ::mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") != 0) {
        child_fail(context, "mounting /proc");
    }
    const std::string old_root = spec.root + "/.old-root";
    if (!make_mount_point(old_root, true)) child_fail(context, "creating the old-root mount point");
    if (::syscall(SYS_pivot_root, spec.root.c_str(), old_root.c_str()) != 0) child_fail(context, "pivot_root");
    if (::chdir("/") != 0 || ::umount2("/.old-root", MNT_DETACH) != 0 || ::rmdir("/.old-root") != 0) {
        child_fail(context, "leaving the host's file system");
    }

    // 3. Limits, then capabilities and identity, for good.
    const rlimit no_core{0, 0};
    const rlimit files{spec.max_open_files, spec.max_open_files};
    if (::setrlimit(RLIMIT_CORE, &no_core) != 0 || ::setrlimit(RLIMIT_NOFILE, &files) != 0) {
        child_fail(context, "setting resource limits");
    }
    for (int capability = 0; capability <= CAP_LAST_CAP; ++capability) {
        if (::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL) {
            child_fail(context, "dropping the capability bounding set");
        }
    }
    if (::setgroups(0, nullptr) != 0 || ::setresgid(spec.gid, spec.gid, spec.gid) != 0 ||
        ::setresuid(spec.uid, spec.uid, spec.uid) != 0) {
        child_fail(context, "switching to the app's user");
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(context, "setting no_new_privs");
    // setresuid from root to another uid clears the permitted, effective and ambient sets;
    // check rather than trust it.
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data{};
    if (::syscall(SYS_capget, &header, data.data()) != 0 || data[0].effective != 0 || data[0].permitted != 0 ||
        data[1].effective != 0 || data[1].permitted != 0) {
        errno = EPERM;
        child_fail(context, "capabilities left after switching user");
    }

    // bulkheadd blocks the signals it reads through a signalfd; the VMM starts with none blocked.
    sigset_t none;
    sigemptyset(&none);
    if (::pthread_sigmask(SIG_SETMASK, &none, nullptr) != 0) child_fail(context, "resetting the signal mask");
    ::execve(context.argv[0], context.argv.data(), context.env.data());
    child_fail(context, "exec");
}

}  // namespace

Result<Jailed> spawn_jailed(const JailSpec& spec, const Cgroup& cgroup) {
    if (auto checked = check_spec(spec); !checked) return fail(checked.error());
    std::array<int, 2> go{};
    std::array<int, 2> report{};
    if (::pipe2(go.data(), O_CLOEXEC) != 0 || ::pipe2(report.data(), O_CLOEXEC) != 0) {
        return fail(Error::from_errno(errno, "creating pipes for the jail"));
    }
    UniqueFd go_read(go[0]);
    UniqueFd go_write(go[1]);
    UniqueFd report_read(report[0]);
    UniqueFd report_write(report[1]);

    ChildContext context{&spec, go_read.get(), report_write.get(), {}, {}};
    for (const std::string& arg : spec.argv) context.argv.push_back(const_cast<char*>(arg.c_str()));
    context.argv.push_back(nullptr);
    for (const std::string& entry : spec.env) context.env.push_back(const_cast<char*>(entry.c_str()));
    context.env.push_back(nullptr);

    void* stack = ::mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return fail(Error::from_errno(errno, "allocating the jail's stack"));
    const int flags = CLONE_NEWNS | CLONE_NEWPID | (spec.network_namespace >= 0 ? 0 : CLONE_NEWNET) | CLONE_NEWIPC |
                      CLONE_NEWUTS | SIGCHLD;
    const pid_t pid = ::clone(jailed_child, static_cast<char*>(stack) + kStackBytes, flags, &context);
    const int clone_error = errno;
    ::munmap(stack, kStackBytes);
    if (pid < 0) return fail(Error::from_errno(clone_error, "creating the jailed process"));
    go_read.reset();
    report_write.reset();

    auto abandon = [pid](const Error& error) -> Result<Jailed> {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return fail(error);
    };
    if (auto joined = cgroup.add(pid); !joined) return abandon(joined.error());
    const char start = 1;
    if (::write(go_write.get(), &start, 1) != 1) return abandon(Error::from_errno(errno, "starting the jail"));
    auto message = read_fd_bounded(report_read.get(), 4096, "the jail's report");
    if (!message) return abandon(message.error());
    if (!message->empty()) {
        ::waitpid(pid, nullptr, 0);
        return fail(ErrorCode::permission_denied, "setting up the jail failed: " + *message);
    }
    return Jailed{pid};
}

}  // namespace bulkhead::jailer
