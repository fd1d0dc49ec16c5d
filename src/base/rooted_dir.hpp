// A directory treated as "/" for lookups: every path, including absolute symlinks and "..",
// resolves inside it (openat2 RESOLVE_IN_ROOT). Lets a tool read a fake or mounted system tree
// (`bulkhead hcl --root DIR`) without ever escaping to the real one.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead {

class RootedDir {
public:
    static Result<RootedDir> open(const std::string& path);

    // The path the tree was opened from, for messages.
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

    // `relative` is interpreted inside the tree; a leading "/" is allowed and means its root.
    [[nodiscard]] Result<std::string> read(const std::string& relative, std::size_t max_bytes) const;
    // Succeeds if the entry exists (even if it cannot be read); not_found if it does not.
    [[nodiscard]] Result<void> exists(const std::string& relative) const;
    // Names in a directory, sorted, without "." and "..".
    [[nodiscard]] Result<std::vector<std::string>> list(const std::string& relative) const;
    // Opens an entry with the given open(2) flags; for callers that need the descriptor.
    [[nodiscard]] Result<UniqueFd> open_at(const std::string& relative, int flags) const;

    // The path to show in messages for an entry of this tree.
    [[nodiscard]] std::string display(const std::string& relative) const;

private:
    RootedDir(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

    UniqueFd fd_;
    std::string path_;
};

}  // namespace bulkhead
