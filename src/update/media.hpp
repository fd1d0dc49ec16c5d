// Update media: whole disks an update bundle was written onto raw (`dd` of the bundle file onto
// a USB stick, or a disk an update VM hands over), found by the bundle's magic in their first
// bytes. The core never mounts a file system it is handed, so the kernel never parses one: the
// bundle is read from the device itself (bundle::Bundle::open) and trusted only through TUF.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::update {

// The devices (dev_dir + "/" + name) of the disks in `sys_block_dir` (the kernel's /sys/block)
// that are real devices (a `device` link: no device-mapper, loop or RAM disks), carry no
// partitions (so never the core's own disk), are not empty, and start with the bundle magic.
// Disks that cannot be opened or read are skipped: an update medium is read by whoever can.
Result<std::vector<std::string>> find_update_media(const std::string& sys_block_dir = "/sys/block",
                                                   const std::string& dev_dir = "/dev");

}  // namespace bulkhead::update
