// Finding the root and verity partitions of this image without udev or blkid: every whole
// disk under /sys/block is read with our own GPT reader, and the partitions whose unique GUIDs
// were derived from the root hash (first and second half) are looked up by number.
#pragma once

#include <string>

#include "base/result.hpp"
#include "gpt/gpt.hpp"

namespace bulkhead::initrd {

struct Found {
    std::string root;    // "/dev/vda2"
    std::string verity;  // "/dev/vda3"
    std::string disk;    // "/dev/vda", the whole disk both are on
};

// `sys` and `dev` are the roots of sysfs and devtmpfs ("/sys", "/dev"; a fake tree in tests).
// Not found is ErrorCode::not_found (the caller may wait for disks to appear); a partition
// found twice, or the two on different disks, is an error.
Result<Found> find_partitions(const std::string& sys, const std::string& dev, const gpt::Guid& root_uuid,
                              const gpt::Guid& verity_uuid);

// The partition UUIDs of an image's root and verity partitions, from its root hash.
gpt::Guid root_partition_uuid(std::string_view root_hash);
gpt::Guid verity_partition_uuid(std::string_view root_hash);

}  // namespace bulkhead::initrd
