#include "verity/superblock.hpp"

#include <cstring>

#include "base/bytes.hpp"
#include "base/text.hpp"

namespace bulkhead::verity {

namespace {}  // namespace

Result<Superblock> parse_superblock(std::string_view bytes) {
    if (bytes.size() < kSuperblockBytes) return fail(ErrorCode::parse, "a verity superblock is 512 bytes");
    if (bytes.substr(0, 8) != std::string_view("verity\0\0", 8)) {
        return fail(ErrorCode::parse, "no verity superblock (wrong signature)");
    }
    if (load_le(bytes, 8, 4) != 1) return fail(ErrorCode::parse, "verity superblock version is not 1");
    if (load_le(bytes, 12, 4) != 1) return fail(ErrorCode::parse, "verity hash type is not 1 (salt first)");
    Superblock superblock;
    Parameters& parameters = superblock.parameters;
    std::memcpy(parameters.uuid.data(), bytes.data() + 16, parameters.uuid.size());
    const std::string_view name_field = bytes.substr(32, 32);
    const std::string_view name = name_field.substr(0, name_field.find('\0'));
    if (name == "sha256") {
        parameters.algorithm = Algorithm::sha256;
    } else if (name == "sha512") {
        parameters.algorithm = Algorithm::sha512;
    } else {
        return fail(ErrorCode::parse, concat({"verity algorithm '", valid_utf8(name), "' is not sha256 or sha512"}));
    }
    if (name_field.find_first_not_of('\0', name.size()) != std::string_view::npos) {
        return fail(ErrorCode::parse, "verity algorithm field has bytes after its end");
    }
    parameters.data_block_size = static_cast<std::uint32_t>(load_le(bytes, 64, 4));
    parameters.hash_block_size = static_cast<std::uint32_t>(load_le(bytes, 68, 4));
    superblock.data_blocks = load_le(bytes, 72, 8);
    const std::uint64_t salt_size = load_le(bytes, 80, 2);
    if (salt_size > 256) return fail(ErrorCode::parse, "verity salt longer than 256 bytes");
    parameters.salt = std::string(bytes.substr(88, salt_size));
    if (auto checked = check_parameters(parameters); !checked) return fail(ErrorCode::parse, checked.error().message);
    if (superblock.data_blocks == 0 || superblock.data_blocks > (std::uint64_t{1} << 40U)) {
        return fail(ErrorCode::parse, "verity data block count out of range");
    }
    return superblock;
}

HashTree layout_of(const Superblock& superblock, std::string_view root_hash) {
    HashTree tree;
    tree.root_hash = std::string(root_hash);
    tree.data_blocks = superblock.data_blocks;
    tree.hash_start_block = 1;
    return tree;
}

}  // namespace bulkhead::verity
