// Fuzzes the .MTREE parser (a package's own file list, the reference its payload is checked
// against): never crash; every accepted path is already normalised (relative, no '.' or '..'),
// listed once, and every file carries a sha256.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "archpkg/mtree.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto mtree = bulkhead::archpkg::parse_mtree(text);
    if (!mtree) return 0;
    std::set<std::string> paths;
    for (const auto& entry : mtree->entries) {
        auto again = bulkhead::archpkg::normalise_path(entry.path, "fuzz");
        if (!again || *again != entry.path || !paths.insert(entry.path).second) std::abort();
        if (entry.mode > 07777) std::abort();
        if ((entry.type == bulkhead::archpkg::EntryType::file) != (entry.sha256.size() == 32)) std::abort();
        if ((entry.type == bulkhead::archpkg::EntryType::symlink) == entry.link.empty()) std::abort();
    }
    return 0;
}
