// Kernel modules in an initramfs: lists of them (deps/guest-kernel-modules.txt,
// deps/core-initrd-modules.txt) and their place in the archive, lib/modules/NNN-name.ko, the
// number keeping the list's order (the loader loads in file-name order).
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "initramfs/cpio.hpp"

namespace bulkhead::initramfs {

// Module file names from a list: one path per line, '#' comments; the file name of each path
// is kept, in order.
Result<std::vector<std::string>> read_module_list(const std::string& path);

// Adds lib/modules/NNN-<name> for each module (read from modules_dir), in order.
Result<void> add_modules(CpioWriter& cpio, const std::string& modules_dir, const std::vector<std::string>& modules);

}  // namespace bulkhead::initramfs
