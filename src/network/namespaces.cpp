#include "network/namespaces.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace bulkhead::network {

namespace {

// Waits for `child` and turns its exit status (0, or an errno) into a result.
Result<void> wait_for(pid_t child, const std::string& what) {
    int status = 0;
    while (::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return fail(Error::from_errno(errno, "waiting for the helper " + what));
    }
    if (!WIFEXITED(status)) return fail(ErrorCode::internal, what + ": the helper process was killed");
    if (WEXITSTATUS(status) != 0) return fail(Error::from_errno(WEXITSTATUS(status), what));
    return {};
}

// A message carrying one descriptor on one byte of data.
struct DescriptorMessage {
    char byte = 0;
    iovec io{&byte, 1};
    std::array<char, CMSG_SPACE(sizeof(int))> control{};
    msghdr message{};
    DescriptorMessage() {
        message.msg_iov = &io;
        message.msg_iovlen = 1;
        message.msg_control = control.data();
        message.msg_controllen = control.size();
    }
    DescriptorMessage(const DescriptorMessage&) = delete;
    DescriptorMessage& operator=(const DescriptorMessage&) = delete;
    DescriptorMessage(DescriptorMessage&&) = delete;
    DescriptorMessage& operator=(DescriptorMessage&&) = delete;
    ~DescriptorMessage() = default;
};

}  // namespace

Result<void> create_network_namespace(const std::string& path) {
    const UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444));
    if (!file.valid()) return fail(Error::from_errno(errno, "creating " + path));
    // unshare() in a child: bulkheadd itself stays where it is.
    const pid_t child = ::fork();
    if (child < 0) return fail(Error::from_errno(errno, "fork"));
    if (child == 0) {
        if (::unshare(CLONE_NEWNET) != 0) ::_exit(errno);
        if (::mount("/proc/self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) ::_exit(errno);
        ::_exit(0);
    }
    auto made = wait_for(child, "creating the network namespace " + path);
    if (!made) ::unlink(path.c_str());
    return made;
}

Result<void> remove_network_namespace(const std::string& path) {
    if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT) {
        return fail(Error::from_errno(errno, "detaching the network namespace " + path));
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(Error::from_errno(errno, "removing " + path));
    return {};
}

Result<UniqueFd> open_network_namespace(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening the network namespace " + path));
    if (::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET) {
        return fail(ErrorCode::invalid_argument, path + " is not a network namespace");
    }
    return fd;
}

Result<UniqueFd> inside_network_namespace(int network_namespace, const std::function<int()>& body,
                                          const std::string& what) {
    std::array<int, 2> channel{};
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel.data()) != 0) {
        return fail(Error::from_errno(errno, "socketpair"));
    }
    const UniqueFd ours(channel[0]);
    UniqueFd theirs(channel[1]);
    const pid_t child = ::fork();
    if (child < 0) return fail(Error::from_errno(errno, "fork"));
    if (child == 0) {
        if (::setns(network_namespace, CLONE_NEWNET) != 0) ::_exit(errno);
        const int result = body();
        if (result < 0) ::_exit(-result);
        if (result != kNothingToPass) {
            DescriptorMessage sent;
            cmsghdr* header = CMSG_FIRSTHDR(&sent.message);
            header->cmsg_level = SOL_SOCKET;
            header->cmsg_type = SCM_RIGHTS;
            header->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(header), &result, sizeof(int));
            if (::sendmsg(theirs.get(), &sent.message, 0) != 1) ::_exit(errno);
        }
        ::_exit(0);
    }
    theirs.reset();
    if (auto done = wait_for(child, what); !done) return fail(done.error());
    DescriptorMessage received;
    if (::recvmsg(ours.get(), &received.message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return UniqueFd();
    const cmsghdr* header = CMSG_FIRSTHDR(&received.message);
    if (header == nullptr || header->cmsg_type != SCM_RIGHTS || header->cmsg_len != CMSG_LEN(sizeof(int))) {
        return fail(ErrorCode::internal, what + ": the helper passed no descriptor");
    }
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
    return UniqueFd(fd);
}

Result<UniqueFd> create_tap(int network_namespace, const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) return fail(ErrorCode::invalid_argument, "bad interface name " + name);
    auto tap = inside_network_namespace(
        network_namespace,
        [&name]() -> int {
            const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
            if (fd < 0) return -errno;
            ifreq request{};
            std::memcpy(request.ifr_name, name.c_str(), name.size());
            request.ifr_flags = IFF_TAP | IFF_NO_PI;
            if (::ioctl(fd, TUNSETIFF, &request) != 0) return -errno;
            return fd;
        },
        "creating the tap device " + name);
    if (!tap) return fail(tap.error());
    if (!tap->valid()) return fail(ErrorCode::internal, "creating the tap device " + name + ": no descriptor");
    return tap;
}

namespace {

// Writes "1" to each of `settings` (paths below /proc/sys/net) inside the namespace: /proc/sys/net
// shows the namespace of the process that opens it.
Result<void> set_in_namespace(int network_namespace, std::vector<const char*> settings, const std::string& what) {
    auto done = inside_network_namespace(
        network_namespace,
        [&settings]() -> int {
            for (const char* setting : settings) {
                const int fd = ::open(setting, O_WRONLY | O_CLOEXEC);
                if (fd < 0) return -errno;
                const bool written = ::write(fd, "1\n", 2) == 2;
                ::close(fd);
                if (!written) return -EIO;
            }
            return kNothingToPass;
        },
        what);
    if (!done) return fail(done.error());
    return {};
}

}  // namespace

Result<void> enable_forwarding(int network_namespace) {
    return set_in_namespace(network_namespace, {"/proc/sys/net/ipv4/ip_forward"}, "turning on IPv4 forwarding");
}

Result<void> prepare_app_namespace(int network_namespace) {
    return set_in_namespace(network_namespace,
                            {"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6",
                             "/proc/sys/net/ipv4/ip_forward"},
                            "preparing the app's network namespace (IPv6 off, IPv4 forwarding on)");
}

}  // namespace bulkhead::network
