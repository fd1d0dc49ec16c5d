// Fuzzes the update-bundle header parser (a bundle arrives from a USB stick or a mirror, before
// any TUF check): any bytes may be refused, never crash; an accepted header describes a layout
// that satisfies every rule of the format, checked here independently of the parser's code.
//
// Input: the header block followed by 8 bytes, the little-endian file size. A block shorter
// than 4096 bytes is padded with zeros so that short inputs still reach the entry rules.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "bundle/bundle.hpp"

namespace {

using bulkhead::bundle::EntryType;

void require(bool condition) {
    if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 8) return 0;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const std::uint64_t file_size = bulkhead::load_le(bytes, size - 8, 8);
    std::string block(bytes.substr(0, size - 8));
    if (block.size() < bulkhead::bundle::kBlockBytes) block.resize(bulkhead::bundle::kBlockBytes, '\0');

    auto layout = bulkhead::bundle::parse_header(block, file_size);
    if (!layout) return 0;

    require(!layout->entries.empty() && layout->total_size == file_size);
    std::array<std::size_t, 9> counts{};
    std::uint64_t previous_end = 4096;
    auto previous_type = EntryType::root;
    for (const auto& entry : layout->entries) {
        const auto type = static_cast<std::uint32_t>(entry.type);
        require(type >= 1 && type <= 8);
        ++counts[type];
        require(entry.type >= previous_type);
        previous_type = entry.type;
        // Aligned, right after the previous entry's padding, no overlap, no gap.
        require(entry.offset % 4096 == 0 && entry.offset >= previous_end && entry.offset - previous_end < 4096);
        require(entry.length > 0);
        require(entry.offset <= layout->total_size && entry.length <= layout->total_size - entry.offset);
        previous_end = entry.offset + entry.length;
    }
    require(layout->entries.front().offset == 4096);
    require(previous_end == layout->total_size);
    require(counts[1] >= 1 && counts[1] <= 32);
    for (std::size_t type = 2; type <= 7; ++type) require(counts[type] == 1);
    require(counts[8] <= 1);
    require(layout->entries.size() == counts[1] + 6 + counts[8]);
    // Each cap in bytes, not through size_cap, so a wrong cap table is caught too.
    constexpr std::uint64_t kMiB = std::uint64_t{1} << 20U;
    for (const auto& entry : layout->entries) {
        const std::uint64_t cap = entry.type <= EntryType::targets        ? kMiB
                                  : entry.type == EntryType::uki          ? 512 * kMiB
                                  : entry.type == EntryType::verity       ? 2048 * kMiB
                                  : entry.type == EntryType::boot_manager ? 16 * kMiB
                                                                          : 16384 * kMiB;
        require(entry.length <= cap);
    }
    require(layout->find(EntryType::uki).has_value() && layout->roots().size() == counts[1]);
    // Nothing in an accepted block is left unread: encoding the layout gives the block back.
    require(bulkhead::bundle::encode_header(*layout) == block);
    return 0;
}
