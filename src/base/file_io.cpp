#include "base/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>

#include "base/unique_fd.hpp"

namespace bulkhead {

Result<std::string> read_fd_bounded(int fd, std::size_t max_bytes, std::string_view what) {
    std::string data;
    std::array<char, 16384> buffer{};
    for (;;) {
        const ssize_t got = ::read(fd, buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR) continue;
            return fail(Error::from_errno(errno, "reading " + std::string(what)));
        }
        if (got == 0) return data;
        if (static_cast<std::size_t>(got) > max_bytes - data.size()) {
            return fail(ErrorCode::too_large,
                        std::string(what) + ": larger than the limit of " + std::to_string(max_bytes) + " bytes");
        }
        data.append(buffer.data(), static_cast<std::size_t>(got));
    }
}

Result<void> read_fd_chunks(int fd, const std::string& what,
                            const std::function<Result<void>(std::string_view chunk)>& consume) {
    std::array<char, 65536> buffer{};
    for (;;) {
        const ssize_t got = ::read(fd, buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR) continue;
            return fail(Error::from_errno(errno, "reading " + what));
        }
        if (got == 0) return {};
        if (auto consumed = consume(std::string_view(buffer.data(), static_cast<std::size_t>(got))); !consumed) {
            return consumed;
        }
    }
}

Result<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening " + path));
    return read_fd_bounded(fd.get(), max_bytes, path);
}

Result<void> write_all(int fd, std::string_view data, const std::string& what) {
    while (!data.empty()) {
        const ssize_t put = ::write(fd, data.data(), data.size());
        if (put < 0) {
            if (errno == EINTR) continue;
            return fail(Error::from_errno(errno, "writing " + what));
        }
        data.remove_prefix(static_cast<std::size_t>(put));
    }
    return {};
}

Result<void> sync_directory(const std::string& dir) {
    const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening directory " + dir));
    if (::fsync(fd.get()) != 0) return fail(Error::from_errno(errno, "syncing directory " + dir));
    return {};
}

Result<void> write_file_atomically(const std::string& path, std::string_view data, mode_t mode, bool durable) {
    const std::filesystem::path target(path);
    if (!target.has_filename()) {
        return fail(ErrorCode::invalid_argument, "not a file path: '" + path + "'");
    }
    const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
    std::string temp = dir + "/." + target.filename().string() + ".tmp-XXXXXX";

    const UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "creating a temporary file in " + dir));

    auto abandon = [&temp](Error error) -> Result<void> {
        ::unlink(temp.c_str());
        return fail(std::move(error));
    };
    if (::fchmod(fd.get(), mode) != 0) {
        return abandon(Error::from_errno(errno, "setting the mode of " + temp));
    }
    if (auto written = write_all(fd.get(), data, temp); !written) return abandon(written.error());
    if (durable && ::fsync(fd.get()) != 0) return abandon(Error::from_errno(errno, "syncing " + temp));
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        return abandon(Error::from_errno(errno, "renaming " + temp + " to " + path));
    }
    if (!durable) return {};
    return sync_directory(dir);
}

}  // namespace bulkhead
