// dm-verity hash trees, computed by our own code (format version 1, the one `veritysetup
// format` writes and the kernel's "verity" target reads): every data block is hashed with the
// salt in front, the digests are packed into hash blocks, level by level up to a single block,
// and the root hash is the salted digest of that block. The hash area holds the levels from
// the top down, after an optional 512-byte superblock padded to one hash block.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace bulkhead::verity {

enum class Algorithm { sha256, sha512 };

struct Parameters {
    Algorithm algorithm = Algorithm::sha256;
    std::uint32_t data_block_size = 4096;  // 512 to 4096 bytes, a power of two
    std::uint32_t hash_block_size = 4096;  // as above
    std::string salt;                      // raw bytes, at most 256
    std::array<std::uint8_t, 16> uuid{};   // recorded in the superblock
    bool superblock = true;
};

struct HashTree {
    std::string root_hash;               // raw digest
    std::uint64_t data_blocks = 0;       // of data_block_size
    std::uint64_t hash_start_block = 0;  // where level data starts on the hash device, in hash blocks
    std::uint64_t hash_bytes = 0;        // everything written to the hash device, superblock included
};

std::string_view algorithm_name(Algorithm algorithm) noexcept;

// Checks sizes and the salt; the data must be a whole number of data blocks.
Result<void> check_parameters(const Parameters& parameters);

// Reads `data_bytes` from `data_fd` (from offset 0, with pread) and writes the superblock (if
// asked) and the hash tree to `hash_fd` from offset 0.
Result<HashTree> build_hash_tree(int data_fd, std::uint64_t data_bytes, int hash_fd, const Parameters& parameters);

// The table line of the kernel's "verity" target for these devices (see the kernel's
// Documentation/admin-guide/device-mapper/verity.rst).
std::string verity_table(const std::string& data_device, const std::string& hash_device, const HashTree& tree,
                         const Parameters& parameters);

}  // namespace bulkhead::verity
