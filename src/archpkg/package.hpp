// Reading an Arch package file (`NAME-VER-REL-ARCH.pkg.tar.zst`) completely and checking it
// against itself: the metadata files come first (.PKGINFO, .BUILDINFO and .MTREE are required,
// .INSTALL and .CHANGELOG allowed), .PKGINFO and .BUILDINFO must describe the same package, and
// every payload entry must match its .MTREE line (type, owner, mode, time, size, sha256, link
// target) while every .MTREE line must be in the payload. A package that passes is exactly what
// its packager's .MTREE lists; whether that package is the one we want is for the TUF metadata,
// which pins the file's sha256 and sha512 that are computed in the same single pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archpkg/archive_reader.hpp"
#include "archpkg/buildinfo.hpp"
#include "archpkg/mtree.hpp"
#include "archpkg/pkginfo.hpp"
#include "base/result.hpp"

namespace bulkhead::archpkg {

inline constexpr std::size_t kMaxMtreeCompressedBytes = std::size_t{16} << 20U;
inline constexpr std::size_t kMaxScriptBytes = 1U << 20U;  // .INSTALL and .CHANGELOG

struct Package {
    PkgInfo info;
    BuildInfo build;
    Mtree mtree;
    bool has_install_script = false;  // .INSTALL: never run by Bulkhead, only reported
    std::string sha256;               // of the whole file, 32 raw bytes
    std::string sha512;               // of the whole file, 64 raw bytes
    std::uint64_t file_size = 0;
    std::uint64_t payload_bytes = 0;  // the sum of the payload's file sizes
};

// Receives the payload while it is read, in archive order, each entry only after its header
// matched its .MTREE line. A file's contents are checked against their sha256 only once they
// have all arrived, so a sink must be all or nothing: whatever it built is thrown away when
// read_package fails (see tree_writer.hpp).
class PayloadSink {
public:
    virtual ~PayloadSink() = default;
    PayloadSink() = default;
    PayloadSink(const PayloadSink&) = delete;
    PayloadSink& operator=(const PayloadSink&) = delete;
    PayloadSink(PayloadSink&&) = delete;
    PayloadSink& operator=(PayloadSink&&) = delete;

    virtual Result<void> directory(const MtreeEntry& listed) = 0;
    virtual Result<void> symlink(const MtreeEntry& listed) = 0;
    // A second name for `target`, a file delivered earlier in the same package.
    virtual Result<void> hard_link(const MtreeEntry& listed, const std::string& target) = 0;
    virtual Result<void> begin_file(const MtreeEntry& listed) = 0;
    virtual Result<void> file_data(std::string_view chunk) = 0;
    virtual Result<void> end_file() = 0;
};

// Reads the package from fd (at its start) to the end; `what` names it in errors. With a sink,
// the payload is handed to it on the way.
Result<Package> read_package(int fd, const std::string& what, const ArchiveLimits& limits = {},
                             PayloadSink* sink = nullptr);

// Opens path (a regular file) and reads it with read_package.
Result<Package> read_package_file(const std::string& path, const ArchiveLimits& limits = {},
                                  PayloadSink* sink = nullptr);

}  // namespace bulkhead::archpkg
