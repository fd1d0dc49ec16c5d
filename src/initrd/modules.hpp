// Loading the kernel modules an early userspace carries (initrd, app VM guest): every `.ko`
// in a directory, in file-name order (the builder numbers them in load order), with
// finit_module, so the kernel checks each module's signature as for any other.
#pragma once

#include <functional>
#include <string>

namespace bulkhead::initrd {

// Loads every module in `dir`; a module that is already loaded is fine, any other failure is
// reported through `say` and the rest are still tried. Returns how many failed.
int load_modules(const std::string& dir, const std::function<void(const std::string&)>& say);

}  // namespace bulkhead::initrd
