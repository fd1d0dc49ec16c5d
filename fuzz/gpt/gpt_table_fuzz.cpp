// Fuzzes GPT reading (the initrd reads the tables of every disk it finds): any bytes may be
// refused, never crash; accepted entries lie inside the disk, numbered 1 to 128.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gpt/gpt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    constexpr std::uint64_t kDisk = std::uint64_t{64} << 20;
    auto entries = bulkhead::gpt::parse_partition_table(bytes, kDisk);
    if (!entries) return 0;
    for (const auto& entry : *entries) {
        if (entry.number < 1 || entry.number > 128 || entry.first_lba > entry.last_lba ||
            entry.last_lba >= kDisk / 512 || entry.name.size() > 36) {
            std::abort();
        }
    }
    return 0;
}
