// Fuzzes verity superblock parsing (the initrd reads it from a disk): any bytes may be refused,
// never crash; an accepted superblock satisfies every rule the parser promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "verity/superblock.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto superblock = bulkhead::verity::parse_superblock(bytes);
    if (!superblock) return 0;
    if (!bulkhead::verity::check_parameters(superblock->parameters) || superblock->data_blocks == 0 ||
        superblock->parameters.salt.size() > 256) {
        std::abort();
    }
    return 0;
}
