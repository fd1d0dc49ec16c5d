// Little-endian integers in binary formats (GPT, verity superblocks, EFI variables, ELF, PE):
// callers check the bounds first; these only assemble and spread the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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

// Writes `value` as `width` little-endian bytes at `at`, which must have room for them.
inline void store_le(unsigned char* at, std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) at[i] = static_cast<unsigned char>(value >> (8 * i));
}

// Appends `value` as `width` little-endian bytes.
inline void append_le(std::string& out, std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

}  // namespace bulkhead
