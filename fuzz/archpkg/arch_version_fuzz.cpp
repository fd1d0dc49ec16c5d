// Fuzzes pacman's version order and the dependency parser (versions and relations come from
// package metadata and repository databases): never crash; the order is antisymmetric and
// reflexive; an accepted dependency prints back to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "archpkg/version.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto split = text.find('\n');
    const auto left = text.substr(0, split);
    const auto right = split == std::string_view::npos ? std::string_view{} : text.substr(split + 1);
    using bulkhead::archpkg::compare_versions;
    const int order = compare_versions(left, right);
    if (order < -1 || order > 1 || compare_versions(right, left) != -order || compare_versions(left, left) != 0) {
        std::abort();
    }
    auto dependency = bulkhead::archpkg::parse_dependency(left);
    if (dependency && bulkhead::archpkg::format_dependency(*dependency) != left) std::abort();
    return 0;
}
