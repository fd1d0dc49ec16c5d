// mount_setattr(2) (Linux 5.12), declared here: glibc 2.36 has no wrapper, and its
// <sys/mount.h> and <linux/mount.h> do not mix.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace bulkhead {

struct MountAttributes {
    std::uint64_t attr_set = 0;
    std::uint64_t attr_clr = 0;
    std::uint64_t propagation = 0;
    std::uint64_t userns_fd = 0;
};
inline constexpr std::uint64_t kMountReadOnly = 0x1;  // MOUNT_ATTR_RDONLY
inline constexpr std::uint64_t kMountNoSuid = 0x2;    // MOUNT_ATTR_NOSUID
inline constexpr std::uint64_t kMountNoDev = 0x4;     // MOUNT_ATTR_NODEV
inline constexpr unsigned kAtRecursive = 0x8000;      // AT_RECURSIVE
inline constexpr unsigned kAtEmptyPath = 0x1000;      // AT_EMPTY_PATH

// Sets `attributes` on the mount at dirfd/path; 0 or -1 with errno, as the system call.
// Async-signal-safe (a plain system call), so usable between fork and exec.
inline long set_mount_attributes(int dirfd, const char* path, unsigned flags, const MountAttributes& attributes) {
    constexpr long kSysMountSetattr = 442;
    return ::syscall(kSysMountSetattr, dirfd, path, flags, &attributes, sizeof attributes);
}

}  // namespace bulkhead
