// Fuzzes the app client's readers of the versions index and the closure manifest (TUF-verified,
// but they decide what is downloaded and unpacked): never crash; an accepted manifest is for
// the asked app and version, holds that package once, and names every file under packages/.
// The first byte picks the reader.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "appstore/manifest.hpp"
#include "archpkg/version.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
        auto versions = bulkhead::appstore::parse_versions_index(text, "demo");
        if (!versions) return 0;
        for (std::size_t i = 1; i < versions->size(); ++i) {
            if (bulkhead::archpkg::compare_versions((*versions)[i - 1], (*versions)[i]) > 0) std::abort();
        }
        return 0;
    }
    auto manifest = bulkhead::appstore::parse_manifest(text, "demo", "1.0-1");
    if (!manifest) return 0;
    if (manifest->app != "demo" || manifest->version != "1.0-1" || manifest->command.empty() ||
        manifest->command.front() != '/') {
        std::abort();
    }
    std::set<std::string> names;
    for (const auto& package : manifest->packages) {
        if (!names.insert(package.name).second || package.target != "packages/" + package.file ||
            package.file.find('/') != std::string::npos) {
            std::abort();
        }
    }
    if (!names.contains("demo")) std::abort();
    return 0;
}
