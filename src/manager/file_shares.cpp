#include "manager/file_shares.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "base/process.hpp"
#include "base/text.hpp"

namespace bulkhead::manager {

namespace {

constexpr std::array<const char*, 7> kHostTrees = {"/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/root"};

bool is_within(const std::string& path, const std::string& dir) {
    if (dir.empty()) return false;
    const std::string base = dir.ends_with('/') ? dir.substr(0, dir.size() - 1) : dir;
    return path == base || path.starts_with(base + "/");
}

}  // namespace

Result<UniqueFd> open_shared_directory(const std::string& path, const std::vector<std::string>& protected_dirs) {
    if (path.empty() || path.front() != '/' || path == "/") {
        return fail(ErrorCode::invalid_argument, "the whole file system is never shared");
    }
    for (const char* tree : kHostTrees) {
        if (is_within(path, tree)) {
            return fail(ErrorCode::permission_denied, concat({path, " is in ", tree, ", which is never shared"}));
        }
    }
    for (const std::string& dir : protected_dirs) {
        if (is_within(path, dir) || is_within(dir, path)) {
            return fail(ErrorCode::permission_denied,
                        concat({path, " holds or is in bulkheadd's own data (", dir, "), which is never shared"}));
        }
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
    return UniqueFd(static_cast<int>(fd));
}

Result<pid_t> serve_share(const ShareToServe& share, const std::string& socket_path, uid_t uid) {
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path) {
        return fail(ErrorCode::invalid_argument, "socket path too long: " + socket_path);
    }
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    ::unlink(socket_path.c_str());
    if (!listener.valid() || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener.get(), 1) != 0 || ::chown(socket_path.c_str(), uid, uid) != 0 ||
        ::chmod(socket_path.c_str(), 0600) != 0) {
        return fail(Error::from_errno(errno, "listening on " + socket_path));
    }
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
