// Finding the VM's devices by what the host named them, not by probe order: the control port
// by its virtio-serial name, disks by their virtio-blk serial. `root` is "/" in the guest and a
// fixture tree in tests.
#pragma once

#include <optional>
#include <string>

#include "base/result.hpp"

namespace bulkhead::guest {

// "/dev/vport0p1" for the port named `name` in /sys/class/virtio-ports/*/name, if present yet.
Result<std::optional<std::string>> find_virtio_port(const std::string& root, const std::string& name);

// "/dev/vdb" for the virtio disk whose /sys/block/vd*/serial is `serial`, if present yet.
Result<std::optional<std::string>> find_disk_by_serial(const std::string& root, const std::string& serial);

}  // namespace bulkhead::guest
