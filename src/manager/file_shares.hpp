// files grants: which host directories may be shared into an app VM, and serving them. Each
// share gets its own virtiofsd, started by bulkheadd with a view of exactly that directory
// (a clone of it, without the mounts below it, read-only unless the grant says :rw) in a mount
// namespace of its own, where virtiofsd adds its own sandbox (pivot_root into the view), so
// nothing outside the directory can be named from the guest, symlinks included.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::manager {

inline constexpr const char* kVirtiofsd = "/usr/lib/qemu/virtiofsd";

inline constexpr std::size_t kMaxShares = 16;  // per VM, as the guest accepts

// Opens `path` for sharing: an existing directory, reached from / with no symlink on the way
// (the grant names the real path), that neither is nor holds nor lies in one of the host's own
// trees (/proc, /sys, /dev, /run, /boot, /etc, /root, /usr) or `protected_dirs` (bulkheadd's
// state and runtime directories, the guest kernel, init and helpers). Compared by device and
// inode, so a bind mount or another name of a protected tree is refused too. A writable share
// must be on a nosuid mount: its file server creates files as the guest asks, and a setuid
// file placed by a guest must never run with its owner's rights on the host.
Result<UniqueFd> open_shared_directory(const std::string& path, bool writable,
                                       const std::vector<std::string>& protected_dirs);

struct ShareToServe {
    UniqueFd directory;
    std::string path;  // as granted, for the guest's mount point
    bool writable = false;
};

// Starts virtiofsd for `share` on a listening socket at `socket_path` that only `uid` (the VMM)
// may connect to. Returns its pid; the caller reaps it.
Result<pid_t> serve_share(const ShareToServe& share, const std::string& socket_path, uid_t uid);

}  // namespace bulkhead::manager
