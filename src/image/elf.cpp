#include "image/elf.hpp"

#include <cstdint>

#include "base/bytes.hpp"
namespace bulkhead::image {

namespace {

constexpr std::uint32_t kPtLoad = 1;
constexpr std::uint32_t kPtDynamic = 2;
constexpr std::uint32_t kPtInterp = 3;
constexpr std::uint64_t kDtNull = 0;
constexpr std::uint64_t kDtNeeded = 1;
constexpr std::uint64_t kDtStrtab = 5;
constexpr std::uint64_t kDtStrsz = 10;
constexpr std::size_t kMaxNeeded = 512;
constexpr std::size_t kMaxName = 4096;

bool inside(std::string_view file, std::uint64_t offset, std::uint64_t size) {
    return offset <= file.size() && size <= file.size() - offset;
}

struct Segment {
    std::uint32_t type;
    std::uint64_t offset;
    std::uint64_t vaddr;
    std::uint64_t filesz;
};

}  // namespace

Result<ElfDependencies> read_elf_dependencies(std::string_view file) {
    if (file.size() < 64 || file.substr(0, 4) !=
                                "\x7f"
                                "ELF")
        return fail(ErrorCode::parse, "not an ELF file");
    if (file[4] != 2 || file[5] != 1) return fail(ErrorCode::parse, "not a 64-bit little-endian ELF file");
    if (load_le(file, 18, 2) != 62) return fail(ErrorCode::parse, "not an x86-64 ELF file");
    const std::uint64_t phoff = load_le(file, 32, 8);
    const std::uint64_t phentsize = load_le(file, 54, 2);
    const std::uint64_t phnum = load_le(file, 56, 2);
    if (phentsize != 56 || !inside(file, phoff, phnum * phentsize)) {
        return fail(ErrorCode::parse, "ELF program headers out of bounds");
    }
    std::vector<Segment> segments;
    for (std::uint64_t i = 0; i < phnum; ++i) {
        const auto at = static_cast<std::size_t>(phoff + i * phentsize);
        segments.push_back({static_cast<std::uint32_t>(load_le(file, at, 4)), load_le(file, at + 8, 8),
                            load_le(file, at + 16, 8), load_le(file, at + 32, 8)});
    }
    ElfDependencies dependencies;
    const Segment* dynamic = nullptr;
    for (const Segment& segment : segments) {
        if (segment.type == kPtInterp) {
            if (!inside(file, segment.offset, segment.filesz) || segment.filesz == 0 || segment.filesz > kMaxName) {
                return fail(ErrorCode::parse, "ELF interpreter out of bounds");
            }
            const std::string_view text = file.substr(segment.offset, segment.filesz);
            dependencies.interpreter = std::string(text.substr(0, text.find('\0')));
        } else if (segment.type == kPtDynamic) {
            if (dynamic != nullptr) return fail(ErrorCode::parse, "two ELF dynamic segments");
            dynamic = &segment;
        }
    }
    if (dynamic == nullptr) return dependencies;  // static
    if (!inside(file, dynamic->offset, dynamic->filesz))
        return fail(ErrorCode::parse, "ELF dynamic segment out of bounds");
    std::uint64_t strtab = 0;
    std::uint64_t strsz = 0;
    std::vector<std::uint64_t> needed_offsets;
    for (std::uint64_t at = dynamic->offset; at + 16 <= dynamic->offset + dynamic->filesz; at += 16) {
        const std::uint64_t tag = load_le(file, static_cast<std::size_t>(at), 8);
        const std::uint64_t value = load_le(file, static_cast<std::size_t>(at + 8), 8);
        if (tag == kDtNull) break;
        if (tag == kDtNeeded) {
            if (needed_offsets.size() >= kMaxNeeded) return fail(ErrorCode::too_large, "too many ELF dependencies");
            needed_offsets.push_back(value);
        } else if (tag == kDtStrtab) {
            strtab = value;
        } else if (tag == kDtStrsz) {
            strsz = value;
        }
    }
    if (needed_offsets.empty()) return dependencies;
    // DT_STRTAB is an address: the loadable segment holding it gives its place in the file.
    std::uint64_t strtab_offset = 0;
    bool mapped = false;
    for (const Segment& segment : segments) {
        if (segment.type == kPtLoad && strtab >= segment.vaddr && strtab - segment.vaddr < segment.filesz) {
            strtab_offset = segment.offset + (strtab - segment.vaddr);
            mapped = true;
            break;
        }
    }
    if (!mapped || !inside(file, strtab_offset, strsz)) return fail(ErrorCode::parse, "ELF string table out of bounds");
    const std::string_view strings = file.substr(strtab_offset, strsz);
    for (const std::uint64_t offset : needed_offsets) {
        if (offset >= strings.size()) return fail(ErrorCode::parse, "ELF dependency name out of bounds");
        const std::size_t end = strings.find('\0', offset);
        if (end == std::string_view::npos || end == offset || end - offset > kMaxName) {
            return fail(ErrorCode::parse, "ELF dependency name unterminated or empty");
        }
        const std::string_view name = strings.substr(offset, end - offset);
        if (name.find('/') != std::string_view::npos) return fail(ErrorCode::parse, "ELF dependency names a path");
        dependencies.needed.emplace_back(name);
    }
    return dependencies;
}

}  // namespace bulkhead::image
