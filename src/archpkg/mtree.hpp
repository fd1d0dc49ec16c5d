// .MTREE: the package's own list of every file with its type, owner, mode, time, size, sha256 and
// link target (bsdtar's mtree text, gzip-compressed in the package). A package is only accepted
// when its payload matches this list exactly (package.hpp). Format 1 (pacman before 6.1, Debian's
// makepkg) also carries md5digest, which is checked for form and otherwise ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::archpkg {

inline constexpr std::size_t kMaxMtreeTextBytes = std::size_t{64} << 20U;
inline constexpr std::size_t kMaxMtreeEntries = 500000;
inline constexpr std::size_t kMaxPathBytes = 4095;

enum class EntryType { file, directory, symlink };

std::string_view entry_type_name(EntryType type) noexcept;

struct MtreeEntry {
    std::string path;  // relative, normalised: "usr/bin/hello", ".PKGINFO"
    EntryType type = EntryType::file;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint32_t mode = 0;  // permission bits only (at most 07777)
    std::int64_t time_seconds = 0;
    std::uint32_t time_nanoseconds = 0;
    std::uint64_t size = 0;  // files only
    std::string sha256;      // files only: 32 raw bytes
    std::string link;        // symlinks only: the target as written
};

struct Mtree {
    bool has_md5 = false;             // format 1
    std::vector<MtreeEntry> entries;  // in file order
};

// `text` is the decompressed file.
Result<Mtree> parse_mtree(std::string_view text);

// A relative archive path made safe to use: no leading '/', no "." or ".." or empty
// components, at most kMaxPathBytes, no NUL; a leading "./" and one trailing '/' (directories
// in tar) are dropped. `what` names the source in errors.
Result<std::string> normalise_path(std::string_view path, std::string_view what);

}  // namespace bulkhead::archpkg
