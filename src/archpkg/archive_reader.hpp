// A bounded, streaming reader of tar archives (package files and repository databases) on top of
// libarchive, restricted to what Arch uses: tar (ustar, pax, GNU) compressed with zstd, xz or
// gzip, or not at all. libarchive never runs an external decompressor here: a filter it could
// only provide through an external program is refused. The raw bytes read can be hashed on the
// way, so a package is read once for both its file hashes and its contents.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::archpkg {

enum class ArchiveEntryKind { file, directory, symlink, hardlink, other };

struct ArchiveEntry {
    std::string path;  // as stored, not normalised
    ArchiveEntryKind kind = ArchiveEntryKind::other;
    std::uint32_t mode = 0;  // permission bits (07777)
    std::int64_t uid = 0;
    std::int64_t gid = 0;
    std::int64_t mtime_seconds = 0;
    std::uint32_t mtime_nanoseconds = 0;
    std::int64_t size = 0;  // bytes of data that follow (0 for hard links in tar)
    std::string link;       // symlink target or hard link target path
    // Extended attributes, ACLs or file flags: metadata .MTREE does not cover, which pacman
    // would still apply (an xattr such as security.capability grants privileges).
    bool has_extended_metadata = false;
};

struct ArchiveLimits {
    std::uint64_t max_raw_bytes = std::uint64_t{16} << 30U;   // the compressed file
    std::uint64_t max_data_bytes = std::uint64_t{64} << 30U;  // all entries' data, uncompressed
    std::size_t max_entries = 500000;
};

// The digests of every raw byte the reader consumed, available once the input is drained.
struct RawDigests {
    std::string sha256;  // 32 raw bytes
    std::string sha512;  // 64 raw bytes
    std::uint64_t size = 0;
};

class ArchiveReader {
public:
    enum class Format {
        tar,      // a tar archive, compressed with zstd, xz, gzip or not at all
        gzip_raw  // one gzip-compressed file (no archive), such as .MTREE
    };

    // Reads from fd (kept open by the caller) or from memory (which must outlive the reader).
    // With hash_raw, the raw bytes are hashed (sha256 and sha512) as they are read.
    static Result<std::unique_ptr<ArchiveReader>> open_fd(int fd, std::string what, Format format,
                                                          const ArchiveLimits& limits, bool hash_raw);
    static Result<std::unique_ptr<ArchiveReader>> open_memory(std::string_view bytes, std::string what, Format format,
                                                              const ArchiveLimits& limits);
    ~ArchiveReader();
    ArchiveReader(const ArchiveReader&) = delete;
    ArchiveReader& operator=(const ArchiveReader&) = delete;
    ArchiveReader(ArchiveReader&&) = delete;
    ArchiveReader& operator=(ArchiveReader&&) = delete;

    // The next entry's header, or nothing at the end of the archive. The data of the previous
    // entry, if not read, is skipped (and still counted against the bounds).
    Result<std::optional<ArchiveEntry>> next();

    // The current entry's data in pieces; fails if it is not exactly the header's size.
    Result<void> read_data(const std::function<Result<void>(std::string_view)>& consume);

    // The current entry's data whole; fails with too_large above max_bytes.
    Result<std::string> read_data_whole(std::size_t max_bytes);

    // Reads what is left of the input (after the end of the archive) into the hashes and returns
    // them; only for readers opened with hash_raw.
    Result<RawDigests> finish_raw_digests();

    // Opaque; public only so that libarchive's read callback can reach it.
    struct State;

private:
    explicit ArchiveReader(std::unique_ptr<State> state);
    Result<void> start();
    std::unique_ptr<State> state_;
};

// Decompresses one gzip stream held in memory (such as .MTREE), at most max_bytes of output.
Result<std::string> gunzip_bounded(std::string_view compressed, std::string_view what, std::size_t max_bytes);

}  // namespace bulkhead::archpkg
