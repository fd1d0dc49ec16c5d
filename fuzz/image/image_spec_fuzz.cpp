// Fuzzes image specs: any text may be refused, never crash; an accepted spec has a plain
// version, root paths that are absolute and clean, and no set-id modes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "image/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto spec = bulkhead::image::parse_image_spec(text, "fuzz", "/base");
    if (!spec) return 0;
    if (spec->version.empty() || spec->version.size() > 64 || spec->files.empty()) std::abort();
    for (const auto& file : spec->files) {
        if (file.target.empty() || file.target.front() != '/' || file.target.find("/../") != std::string::npos ||
            (file.mode & 07000U) != 0) {
            std::abort();
        }
    }
    return 0;
}
