// The initramfs an app VM boots: bulkhead-guest as /init, the kernel modules it loads (in
// order), /dev/console, the mount points, and the app's run spec (/bulkhead/argv and env).
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "guest/run_spec.hpp"
#include "initramfs/modules.hpp"

namespace bulkhead::vmimage {

struct GuestFiles {
    std::string init;                  // the static bulkhead-guest binary
    std::string modules_dir;           // where the .ko files are
    std::vector<std::string> modules;  // their file names, in load order
};

using initramfs::read_module_list;

// The archive bytes (newc cpio, reproducible).
Result<std::string> build_app_initramfs(const GuestFiles& files, const guest::RunSpec& spec);

}  // namespace bulkhead::vmimage
