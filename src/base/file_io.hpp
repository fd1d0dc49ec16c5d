// Bounded reads and atomic writes: the only ways project code touches file contents.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead {

// Reads all of fd until EOF. Fails with too_large once more than max_bytes arrive, so a
// hostile or endless file (a FIFO, /dev/zero, a growing log) can never exhaust memory.
Result<std::string> read_fd_bounded(int fd, std::size_t max_bytes, std::string_view what);

// Reads fd until EOF and hands each piece to `consume`, for files too large to hold at once
// (hashing, copying); stops at the first error, from reading or from `consume`.
Result<void> read_fd_chunks(int fd, const std::string& what,
                            const std::function<Result<void>(std::string_view chunk)>& consume);

// Writes all of data to fd, retrying short writes and EINTR; `what` names the file in errors.
Result<void> write_all(int fd, std::string_view data, const std::string& what);

// Opens path (no controlling tty, close-on-exec) and reads it with read_fd_bounded.
Result<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes);

// Replaces path with data so that readers see either the old or the new contents, even
// across a crash: write a temporary file in the same directory, fsync it, rename it over
// path, fsync the directory. On failure the temporary file is removed and path is untouched.
//
// With durable false nothing is synced: the replacement is still atomic for every reader and
// survives a killed process, but after a power failure the file may be the old one or even
// damaged. Only for caches whose every use re-verifies the file.
Result<void> write_file_atomically(const std::string& path, std::string_view data, mode_t mode, bool durable = true);

// fsync(2) on a directory, so that renames into it survive a power failure.
Result<void> sync_directory(const std::string& dir);

}  // namespace bulkhead
