#include "base/rooted_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/file_io.hpp"

namespace bulkhead {

namespace {

std::string strip_leading_slashes(const std::string& relative) {
    const auto first = relative.find_first_not_of('/');
    return first == std::string::npos ? std::string(".") : relative.substr(first);
}

}  // namespace

Result<RootedDir> RootedDir::open(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening root directory " + path));
    return RootedDir(std::move(fd), path);
}

std::string RootedDir::display(const std::string& relative) const {
    std::string inner = "/" + strip_leading_slashes(relative);
    if (path_ == "/") return inner;
    return path_ + inner;
}

Result<UniqueFd> RootedDir::open_at(const std::string& relative, int flags) const {
    open_how how{};
    // openat2 refuses O_PATH combined with anything but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
    const int extra = (flags & O_PATH) != 0 ? O_CLOEXEC : (O_CLOEXEC | O_NOCTTY);
    how.flags = static_cast<__u64>(static_cast<unsigned>(flags | extra));
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    const std::string inner = strip_leading_slashes(relative);
    for (;;) {
        const long fd = ::syscall(SYS_openat2, fd_.get(), inner.c_str(), &how, sizeof how);
        if (fd >= 0) return UniqueFd(static_cast<int>(fd));
        if (errno == EINTR || errno == EAGAIN) continue;
        return fail(Error::from_errno(errno, "opening " + display(relative)));
    }
}

Result<std::string> RootedDir::read(const std::string& relative, std::size_t max_bytes) const {
    auto fd = open_at(relative, O_RDONLY);
    if (!fd) return fail(std::move(fd).error());
    return read_fd_bounded(fd->get(), max_bytes, display(relative));
}

Result<void> RootedDir::exists(const std::string& relative) const {
    auto fd = open_at(relative, O_PATH);
    if (!fd) return fail(std::move(fd).error());
    return {};
}

Result<std::vector<std::string>> RootedDir::list(const std::string& relative) const {
    auto fd = open_at(relative, O_RDONLY | O_DIRECTORY);
    if (!fd) return fail(std::move(fd).error());
    DIR* dir = ::fdopendir(fd->get());
    if (dir == nullptr) return fail(Error::from_errno(errno, "listing " + display(relative)));
    (void)fd->release();  // now owned by dir
    std::vector<std::string> names;
    errno = 0;
    // readdir is safe on a stream that only this thread uses; readdir_r is deprecated.
    while (const dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
        const std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    const int read_errno = errno;
    ::closedir(dir);
    if (read_errno != 0) return fail(Error::from_errno(read_errno, "listing " + display(relative)));
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace bulkhead
