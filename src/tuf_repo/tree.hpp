// File-system steps the repository is built from: a whole directory replaced in one atomic
// step, so the published tree and the staged changes are each always either the old or the new
// one, never a mixture. New trees are written unsynced and then made durable with one syncfs,
// which is what makes publishing 100,000 targets fast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::tuf_repo {

// An exclusive advisory lock on DIR/.lock, held while the object lives: two commands never
// change one repository at the same time.
class DirLock {
public:
    static Result<DirLock> acquire(const std::string& dir);

private:
    explicit DirLock(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

// Creates a new empty directory DIR/<prefix>XXXXXX (mode 0755) and returns its path.
Result<std::string> make_temp_dir(const std::string& dir, std::string_view prefix);

// Recreates the tree under `from` inside the empty directory `to` from hard links (directories
// are made, regular files linked), leaving out the relative paths in `skip`. Anything that is
// neither a directory nor a regular file is refused. Returns the number of files linked.
Result<std::size_t> link_tree(const std::string& from, const std::string& to, const std::set<std::string>& skip);

// Hard-links `from` to `to`, creating the parent directories of `to`. An existing `to` is left
// as it is (the names are content-addressed) and counts as success.
Result<void> link_file(const std::string& from, const std::string& to);

// Writes a new file (it must not exist), creating parent directories; not synced.
Result<void> write_new_file(const std::string& path, std::string_view data);

// Creates `path` with contents written by `fill`, complete or not at all: written as an
// unnamed file (O_TMPFILE in `scratch`, a directory on the same file system) and linked into
// place, or, where the file system lacks O_TMPFILE, as "scratch/.blob-XXXXXX" linked into place
// and unlinked. An existing `path` of `expected_size` is kept and `fill` not called (the names
// are content-addressed); one of another size (cut short by a crash) is replaced. Not synced.
Result<void> store_new_file(const std::string& scratch, const std::string& path, std::int64_t expected_size,
                            const std::function<Result<void>(int fd, const std::string& what)>& fill);

// Removes a tree without following symbolic links; a missing path is not an error.
Result<void> remove_tree(const std::string& path);

// Makes the finished directory `staging` appear at `live` in one atomic rename: exchanged
// with the existing `live` (which then sits at `staging`, for the caller to remove), or moved
// there when `live` does not exist yet. Returns true when an old tree now sits at `staging`.
Result<bool> swap_in(const std::string& staging, const std::string& live);

// syncfs(2) for the file system holding `path`: every file and directory written so far is on
// disk when this returns.
Result<void> sync_filesystem(const std::string& path);

}  // namespace bulkhead::tuf_repo
