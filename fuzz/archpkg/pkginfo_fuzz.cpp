// Fuzzes the .PKGINFO parser (package metadata from any mirror, read before anything else is
// trusted): never crash; an accepted file names a valid package and version.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "archpkg/pkginfo.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto info = bulkhead::archpkg::parse_pkginfo(text);
    if (!info) return 0;
    if (!bulkhead::archpkg::check_package_name(info->name) || !bulkhead::archpkg::check_package_name(info->base) ||
        !bulkhead::archpkg::check_full_version(info->version) || info->arch.empty()) {
        std::abort();
    }
    return 0;
}
