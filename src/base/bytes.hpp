// Reading little-endian integers out of binary formats (GPT, verity superblocks, ELF, PE):
// callers check the bounds first; this only assembles the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bulkhead {

// The `width`-byte little-endian number at `at`; bytes[at, at + width) must exist.
inline std::uint64_t load_le(std::string_view bytes, std::size_t at, int width) {
    std::uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i) {
        value = value << 8U | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    }
    return value;
}

}  // namespace bulkhead
