#include "archpkg/tree_writer.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

#include "base/file_io.hpp"
#include "base/text.hpp"

namespace bulkhead::archpkg {

Result<std::unique_ptr<TreeWriter>> TreeWriter::open(const std::string& dir) {
    UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) return fail(Error::from_errno(errno, "opening " + dir));
    struct stat status {};
    if (::fstat(root.get(), &status) != 0) return fail(Error::from_errno(errno, "inspecting " + dir));
    if (status.st_uid != ::geteuid() || (status.st_mode & 07777U) != 0700U) {
        return fail(ErrorCode::permission_denied,
                    dir + " must be owned by this user with mode 0700: packages hold setuid files");
    }
    std::error_code error;
    const bool empty = std::filesystem::is_empty(dir, error);
    if (error) return fail(ErrorCode::io, concat({"reading ", dir, ": ", error.message()}));
    if (!empty) return fail(ErrorCode::invalid_argument, dir + " is not empty");
    return std::unique_ptr<TreeWriter>(new TreeWriter(std::move(root), dir));
}

Result<TreeWriter::Parent> TreeWriter::parent_of(const std::string& path) const {
    const auto slash = path.rfind('/');
    Parent parent;
    parent.name = slash == std::string::npos ? path : path.substr(slash + 1);
    if (slash == std::string::npos) {
        parent.fd = UniqueFd(::dup(root_.get()));
        if (!parent.fd.valid()) return fail(Error::from_errno(errno, "opening " + dir_));
        return parent;
    }
    const auto directory = path.substr(0, slash);
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    // Beneath the root, and no symlink anywhere on the way: a package's symlink is never a
    // path into, or out of, the tree for another entry.
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    long fd = -1;
    do {
        fd = ::syscall(SYS_openat2, root_.get(), directory.c_str(), &how, sizeof how);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV) {
            return fail(ErrorCode::invalid_argument,
                        concat({package_, ": '", valid_utf8(path), "' would be written through a symlink or file"}));
        }
        if (errno == ENOENT) {
            return fail(ErrorCode::parse,
                        concat({package_, ": '", valid_utf8(path), "' comes before its directory in the package"}));
        }
        return fail(Error::from_errno(errno, concat({"opening the directory of ", path, " in ", dir_})));
    }
    parent.fd = UniqueFd(static_cast<int>(fd));
    return parent;
}

Failure TreeWriter::conflict(const std::string& path) const {
    const auto owner = owners_.find(path);
    return fail(ErrorCode::invalid_argument,
                concat({"file conflict: '", valid_utf8(path), "' is in both ",
                        owner == owners_.end() ? std::string("another package") : owner->second, " and ", package_}));
}

Result<void> TreeWriter::claim(const std::string& path) {
    if (!owners_.emplace(path, package_).second) return conflict(path);
    return {};
}

Result<void> TreeWriter::directory(const MtreeEntry& listed) {
    auto parent = parent_of(listed.path);
    if (!parent) return fail(parent.error());
    if (::mkdirat(parent->fd.get(), parent->name.c_str(), 0700) != 0) {
        if (errno != EEXIST) return fail(Error::from_errno(errno, concat({"creating ", listed.path, " in ", dir_})));
        // Directories are shared between packages; anything else in the way is a conflict.
        struct stat existing {};
        if (::fstatat(parent->fd.get(), parent->name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(existing.st_mode)) {
            return conflict(listed.path);
        }
        if (!owners_.contains(listed.path)) owners_.emplace(listed.path, package_);
        return {};
    }
    owners_.insert_or_assign(listed.path, package_);
    directory_modes_.insert_or_assign(listed.path, listed.mode);
    return {};
}

Result<void> TreeWriter::finish() {
    std::vector<std::pair<std::string, std::uint32_t>> deepest_first(directory_modes_.begin(), directory_modes_.end());
    std::sort(deepest_first.begin(), deepest_first.end(), [](const auto& a, const auto& b) {
        return std::count(a.first.begin(), a.first.end(), '/') > std::count(b.first.begin(), b.first.end(), '/');
    });
    for (const auto& [path, mode] : deepest_first) {
        auto parent = parent_of(path);
        if (!parent) return fail(parent.error());
        const UniqueFd made(
            ::openat(parent->fd.get(), parent->name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!made.valid() || ::fchmod(made.get(), mode) != 0) {
            return fail(Error::from_errno(errno, concat({"setting the mode of ", path})));
        }
    }
    directory_modes_.clear();
    return {};
}

Result<void> TreeWriter::symlink(const MtreeEntry& listed) {
    auto parent = parent_of(listed.path);
    if (!parent) return fail(parent.error());
    if (auto claimed = claim(listed.path); !claimed) return fail(claimed.error());
    if (::symlinkat(listed.link.c_str(), parent->fd.get(), parent->name.c_str()) != 0) {
        if (errno == EEXIST) return conflict(listed.path);
        return fail(Error::from_errno(errno, concat({"creating the symlink ", listed.path, " in ", dir_})));
    }
    return {};
}

Result<void> TreeWriter::hard_link(const MtreeEntry& listed, const std::string& target) {
    auto parent = parent_of(listed.path);
    if (!parent) return fail(parent.error());
    auto target_parent = parent_of(target);
    if (!target_parent) return fail(target_parent.error());
    if (auto claimed = claim(listed.path); !claimed) return fail(claimed.error());
    if (::linkat(target_parent->fd.get(), target_parent->name.c_str(), parent->fd.get(), parent->name.c_str(), 0) !=
        0) {
        if (errno == EEXIST) return conflict(listed.path);
        return fail(Error::from_errno(errno, concat({"linking ", listed.path, " to ", target, " in ", dir_})));
    }
    return {};
}

Result<void> TreeWriter::begin_file(const MtreeEntry& listed) {
    auto parent = parent_of(listed.path);
    if (!parent) return fail(parent.error());
    if (auto claimed = claim(listed.path); !claimed) return fail(claimed.error());
    file_ = UniqueFd(
        ::openat(parent->fd.get(), parent->name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file_.valid()) {
        if (errno == EEXIST) return conflict(listed.path);
        return fail(Error::from_errno(errno, concat({"creating ", listed.path, " in ", dir_})));
    }
    file_path_ = listed.path;
    file_mode_ = listed.mode;
    return {};
}

Result<void> TreeWriter::file_data(std::string_view chunk) {
    if (!file_.valid()) return fail(ErrorCode::internal, "file data without a file");
    return write_all(file_.get(), chunk, concat({dir_, "/", file_path_}));
}

Result<void> TreeWriter::end_file() {
    if (!file_.valid()) return fail(ErrorCode::internal, "end of a file that was not begun");
    // The mode last, so a setuid bit is never on a file that is still being written.
    if (::fchmod(file_.get(), file_mode_) != 0) {
        return fail(Error::from_errno(errno, concat({"setting the mode of ", file_path_})));
    }
    file_.reset();
    return {};
}

}  // namespace bulkhead::archpkg
