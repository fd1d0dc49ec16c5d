// The root hash a written dm-verity hash device commits to: the salted digest of its top-level
// block, which the superblock's parameters locate. An update compares it with the root hash
// the signed kernel image carries, so a slot is only switched to a tree that image can mount.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace bulkhead::verity {

// Reads the superblock and top block of the hash device at `offset` bytes into `fd`; returns the
// raw root hash.
Result<std::string> root_hash_of_tree(int fd, std::uint64_t offset);

}  // namespace bulkhead::verity
