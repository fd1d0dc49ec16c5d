// Fuzzes the repository database's `desc` and `files` parsers (a database comes from any
// mirror): never crash; an accepted desc names a package file of its own name, version and
// architecture, and every listed file path is relative and clean. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "archpkg/mtree.hpp"
#include "archpkg/repo_desc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
        auto package = bulkhead::archpkg::parse_desc(text);
        if (!package) return 0;
        if (!package->file_name.starts_with(package->name + "-" + package->version + "-" + package->arch) ||
            package->file_name.find('/') != std::string::npos || package->sha256.size() != 32) {
            std::abort();
        }
        return 0;
    }
    auto files = bulkhead::archpkg::parse_files_list(text);
    if (!files) return 0;
    for (const auto& file : *files) {
        if (!bulkhead::archpkg::normalise_path(file, "fuzz") || file.starts_with('/')) std::abort();
    }
    return 0;
}
