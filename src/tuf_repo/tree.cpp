#include "tuf_repo/tree.hpp"

#include <fcntl.h>
#include <stdio.h>   // NOLINT(modernize-deprecated-headers): renameat2 and RENAME_* live here
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): mkdtemp
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "base/file_io.hpp"

namespace bulkhead::tuf_repo {

namespace fs = std::filesystem;

namespace {

Failure io_error(int error, const std::string& what) { return fail(Error::from_errno(error, what)); }

Result<void> create_parents(const std::string& path) {
    const fs::path parent = fs::path(path).parent_path();
    if (parent.empty()) return {};
    std::error_code error;
    fs::create_directories(parent, error);
    if (error) return fail(ErrorCode::io, "creating " + parent.string() + ": " + error.message());
    return {};
}

}  // namespace

Result<DirLock> DirLock::acquire(const std::string& dir) {
    const std::string path = dir + "/.lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) return io_error(errno, "opening " + path);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            return fail(ErrorCode::invalid_argument,
                        "another command is changing the repository " + dir + " right now; try again when it is done");
        }
        return io_error(errno, "locking " + path);
    }
    return DirLock(std::move(fd));
}

Result<std::string> make_temp_dir(const std::string& dir, std::string_view prefix) {
    std::string pattern = dir + "/" + std::string(prefix) + "XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return io_error(errno, "creating a temporary directory in " + dir);
    if (::chmod(pattern.c_str(), 0755) != 0) return io_error(errno, "chmod " + pattern);
    return pattern;
}

Result<std::size_t> link_tree(const std::string& from, const std::string& to, const std::set<std::string>& skip) {
    std::error_code error;
    std::size_t linked = 0;
    fs::recursive_directory_iterator walk(from, fs::directory_options::none, error);
    if (error) return fail(ErrorCode::io, "reading " + from + ": " + error.message());
    for (const fs::recursive_directory_iterator end; walk != end; walk.increment(error)) {
        if (error) return fail(ErrorCode::io, "reading " + from + ": " + error.message());
        const fs::path relative = walk->path().lexically_relative(from);
        if (skip.contains(relative.string())) continue;
        const fs::path target = fs::path(to) / relative;
        const fs::file_status status = walk->symlink_status(error);
        if (error) return fail(ErrorCode::io, "reading " + walk->path().string() + ": " + error.message());
        if (fs::is_directory(status)) {
            if (::mkdir(target.c_str(), 0755) != 0) return io_error(errno, "creating " + target.string());
        } else if (fs::is_regular_file(status)) {
            if (::link(walk->path().c_str(), target.c_str()) != 0) return io_error(errno, "linking " + target.string());
            ++linked;
        } else {
            return fail(ErrorCode::invalid_argument,
                        walk->path().string() + " is neither a directory nor a regular file; refusing to publish it");
        }
    }
    return linked;
}

Result<void> link_file(const std::string& from, const std::string& to) {
    if (::link(from.c_str(), to.c_str()) == 0) return {};
    if (errno == EEXIST) return {};
    if (errno != ENOENT) return io_error(errno, "linking " + to);
    struct stat source {};
    if (::stat(from.c_str(), &source) != 0) return io_error(errno, "reading " + from);
    if (auto made = create_parents(to); !made) return made;
    if (::link(from.c_str(), to.c_str()) != 0 && errno != EEXIST) return io_error(errno, "linking " + to);
    return {};
}

Result<void> write_new_file(const std::string& path, std::string_view data) {
    if (auto made = create_parents(path); !made) return made;
    const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) return io_error(errno, "creating " + path);
    return write_all(fd.get(), data, path);
}

Result<void> store_new_file(const std::string& scratch, const std::string& path, std::int64_t expected_size,
                            const std::function<Result<void>(int fd, const std::string& what)>& fill) {
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
        if (S_ISREG(existing.st_mode) && existing.st_size == expected_size) return {};
        if (::unlink(path.c_str()) != 0) return io_error(errno, "replacing the damaged " + path);
    }
    UniqueFd fd(::open(scratch.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
    if (fd.valid()) {
        if (auto filled = fill(fd.get(), path); !filled) return filled;
        // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc link does not.
        const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0 || errno == EEXIST) {
            return {};
        }
        if (errno != ENOENT && errno != EXDEV) return io_error(errno, "storing " + path);
    } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        return io_error(errno, "creating a file in " + scratch);
    }
    std::string temp = scratch + "/.blob-XXXXXX";
    fd = UniqueFd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd.valid()) return io_error(errno, "creating a file in " + scratch);
    Result<void> result = fill(fd.get(), path);
    if (result && ::fchmod(fd.get(), 0644) != 0) result = io_error(errno, "chmod " + temp);
    if (result && ::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST)
        result = io_error(errno, "storing " + path);
    ::unlink(temp.c_str());
    return result;
}

Result<void> remove_tree(const std::string& path) {
    std::error_code error;
    fs::remove_all(path, error);
    if (error) return fail(ErrorCode::io, "removing " + path + ": " + error.message());
    return {};
}

Result<bool> swap_in(const std::string& staging, const std::string& live) {
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, live.c_str(), RENAME_EXCHANGE) == 0) return true;
    if (errno != ENOENT) return io_error(errno, "replacing " + live);
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, live.c_str(), RENAME_NOREPLACE) != 0) {
        return io_error(errno, "moving " + staging + " to " + live);
    }
    return false;
}

Result<void> sync_filesystem(const std::string& path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return io_error(errno, "opening " + path);
    if (::syncfs(fd.get()) != 0) return io_error(errno, "syncing the file system of " + path);
    return {};
}

}  // namespace bulkhead::tuf_repo
