#include "manager/file_shares.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "base/process.hpp"
#include "base/text.hpp"

namespace bulkhead::manager {

namespace {

constexpr std::array<const char*, 8> kHostTrees = {"/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/root", "/usr"};

using Identity = std::pair<dev_t, ino_t>;

// The directory and every one above it up to the root, by device and inode (following "..").
std::vector<Identity> lineage(int directory) {
    std::vector<Identity> out;
    UniqueFd at(::fcntl(directory, F_DUPFD_CLOEXEC, 3));
    for (int depth = 0; at.valid() && depth < 4096; ++depth) {
        struct stat info {};
        if (::fstat(at.get(), &info) != 0) break;
        const Identity identity{info.st_dev, info.st_ino};
        if (!out.empty() && out.back() == identity) break;  // the root is its own parent
        out.push_back(identity);
        at = UniqueFd(::openat(at.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    return out;
}

bool contains(const std::vector<Identity>& list, const Identity& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// Refuses a share that is, holds or lies in `tree` (which may not exist on this host).
Result<void> apart_from(const std::string& path, const std::vector<Identity>& share, const std::string& tree) {
    const UniqueFd fd(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return {};
    const std::vector<Identity> protected_line = lineage(fd.get());
    if (protected_line.empty() || share.empty()) return fail(ErrorCode::io, "cannot compare " + path + " with " + tree);
    if (contains(share, protected_line.front()) || contains(protected_line, share.front())) {
        return fail(ErrorCode::permission_denied,
                    concat({path, " is, holds or lies in ", tree, ", which is never shared"}));
    }
    return {};
}

}  // namespace

Result<UniqueFd> open_shared_directory(const std::string& path, bool writable,
                                       const std::vector<std::string>& protected_dirs) {
    if (path.empty() || path.front() != '/' || path == "/") {
        return fail(ErrorCode::invalid_argument, "the whole file system is never shared");
    }
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how);
    if (fd < 0) {
        if (errno == ELOOP) {
            return fail(ErrorCode::invalid_argument, path + " goes through a symbolic link; grant the real path");
        }
        if (errno == ENOTDIR) return fail(ErrorCode::invalid_argument, path + " is not a directory");
        return fail(Error::from_errno(errno, "opening " + path + " to share it"));
    }
    UniqueFd directory(static_cast<int>(fd));
    const std::vector<Identity> share = lineage(directory.get());
    for (const char* tree : kHostTrees) {
        if (auto apart = apart_from(path, share, tree); !apart) return fail(apart.error());
    }
    for (const std::string& tree : protected_dirs) {
        if (auto apart = apart_from(path, share, tree); !apart) return fail(apart.error());
    }
    if (writable) {
        struct statvfs mount {};
        if (::fstatvfs(directory.get(), &mount) != 0) return fail(Error::from_errno(errno, "statvfs " + path));
        if ((mount.f_flag & ST_NOSUID) == 0) {
            return fail(ErrorCode::permission_denied,
                        path +
                            " is on a mount that allows setuid programs; a writable share must be on a nosuid "
                            "mount (a guest could place a setuid file there), or shared read-only");
        }
    }
    return directory;
}

Result<pid_t> serve_share(const ShareToServe& share, const std::string& socket_path, uid_t uid) {
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    // Bound through a descriptor of its directory (opened here, as root): the app's uid may not
    // be able to walk the path down to it, and nothing above it is looked up again.
    const std::filesystem::path where(socket_path);
    const UniqueFd directory(::open(where.parent_path().c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!directory.valid()) return fail(Error::from_errno(errno, "opening " + where.parent_path().string()));
    const std::string via = concat({"/proc/self/fd/", std::to_string(directory.get()), "/", where.filename().string()});
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (via.size() >= sizeof address.sun_path) return fail(ErrorCode::invalid_argument, "socket name too long: " + via);
    std::memcpy(address.sun_path, via.c_str(), via.size() + 1);
    if (!listener.valid()) return fail(Error::from_errno(errno, "socket"));
    // The run directory is the app's: the socket is bound there by a child that has become the
    // app's uid (so the file is the VMM's to connect to, mode 0600 by umask), and nothing is
    // changed there by path with root's rights.
    const pid_t child = ::fork();
    if (child < 0) return fail(Error::from_errno(errno, "fork"));
    if (child == 0) {
        ::umask(0177);
        if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
            ::_exit(errno);
        }
        if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ::_exit(errno);
        ::_exit(0);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return fail(Error::from_errno(WIFEXITED(status) ? WEXITSTATUS(status) : EIO, "binding " + socket_path));
    }
    if (::listen(listener.get(), 1) != 0) return fail(Error::from_errno(errno, "listening on " + socket_path));
    RunOptions options;
    options.view = share.directory.get();
    options.view_writable = share.writable;
    options.inherit = {listener.get()};
    return spawn_program(
        {kVirtiofsd, "--fd=" + std::to_string(listener.get()), "-o", concat({"source=", kReadOnlyViewPath}), "-o",
         "sandbox=namespace", "-o", "cache=auto", "-o", "no_posix_lock", "-o", "no_xattr", "-o", "log_level=warn",
         // bulkheadd (and so all it starts) has neither: virtiofsd must not ask for them.
         "-o", "modcaps=-mknod:-setfcap"},
        options, STDERR_FILENO);
}

}  // namespace bulkhead::manager
