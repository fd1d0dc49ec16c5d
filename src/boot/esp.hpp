// The EFI system partition, changed through mtools (mcopy, mren, mdel, mdir, mmd) on the disk
// itself: the same code works on a disk image on a build machine (whose kernel may have no
// vfat) and on the core's own disk, which it never mounts. mtools does not sync, so every
// change here ends with an fsync of the whole disk before it returns.
//
// Everything read from the partition is untrusted: names are checked by the callers' parsers
// and sizes are bounded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::boot {

class Esp {
public:
    // The FAT file system `offset` bytes into `disk` (an image file or a block device).
    Esp(std::string disk, std::uint64_t offset) : disk_(std::move(disk)), offset_(offset) {}

    // The names of the entries in `dir` ("EFI/Linux"); not_found if it does not exist.
    [[nodiscard]] Result<std::vector<std::string>> list(const std::string& dir) const;
    [[nodiscard]] Result<void> make_dirs(const std::vector<std::string>& dirs) const;
    // Copies a local file to `path`, which must not exist yet.
    [[nodiscard]] Result<void> put(const std::string& local_file, const std::string& path) const;
    [[nodiscard]] Result<void> rename(const std::string& from, const std::string& to_name) const;
    [[nodiscard]] Result<void> remove(const std::string& path) const;
    // Copies `path` out to a local file, which must not exist yet.
    [[nodiscard]] Result<void> get(const std::string& path, const std::string& local_file) const;

private:
    [[nodiscard]] std::string image() const;
    [[nodiscard]] Result<void> sync() const;

    std::string disk_;
    std::uint64_t offset_;
};

}  // namespace bulkhead::boot
