// Reading a dm-verity superblock (the 512 bytes `veritysetup format` and build_hash_tree write
// at the start of the hash device). The initrd trusts none of it: what it says is only used
// after the root hash from the signed kernel command line has been checked against the tree,
// which the kernel does on every read. Parsing is strict all the same.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"
#include "verity/hash_tree.hpp"

namespace bulkhead::verity {

inline constexpr std::size_t kSuperblockBytes = 512;

struct Superblock {
    Parameters parameters;  // superblock = true
    std::uint64_t data_blocks = 0;
};

// Refuses anything but version 1, hash type 1, sha256 or sha512, block sizes 512-4096 (powers
// of two), a salt of at most 256 bytes and a non-zero block count.
Result<Superblock> parse_superblock(std::string_view bytes);

// The tree's layout on the hash device for a superblock's parameters: where the levels start
// (always block 1 after a superblock) and what build_hash_tree would have written.
HashTree layout_of(const Superblock& superblock, std::string_view root_hash);

}  // namespace bulkhead::verity
