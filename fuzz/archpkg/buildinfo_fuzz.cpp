// Fuzzes the .BUILDINFO parser (build records from any mirror): never crash; an accepted file
// has a known format, a well-formed PKGBUILD hash and valid installed packages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "archpkg/buildinfo.hpp"
#include "archpkg/version.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto info = bulkhead::archpkg::parse_buildinfo(text);
    if (!info) return 0;
    if ((info->format != 1 && info->format != 2) || info->pkgbuild_sha256.size() != 64) std::abort();
    for (const auto& installed : info->installed) {
        if (!bulkhead::archpkg::check_package_name(installed.name) ||
            !bulkhead::archpkg::check_full_version(installed.version)) {
            std::abort();
        }
    }
    return 0;
}
