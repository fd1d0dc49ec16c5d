// Device-mapper devices made through the kernel's ioctl interface directly (/dev/mapper/control;
// no libdevmapper, no udev), for the initrd: one read-only target per device.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace bulkhead::devmapper {

struct Target {
    std::uint64_t sectors = 0;  // length in 512-byte sectors, from sector 0
    std::string type;           // "verity"
    std::string parameters;     // the target's table line
};

// Creates device `name` with one read-only target and activates it; returns "/dev/dm-N".
Result<std::string> create_read_only_device(const std::string& control, const std::string& name, const Target& target);

// The DM_TABLE_LOAD request for one target, as the kernel reads it (exposed for tests).
Result<std::string> table_load_request(const std::string& name, const Target& target);

}  // namespace bulkhead::devmapper
