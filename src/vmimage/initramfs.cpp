#include "vmimage/initramfs.hpp"

#include <filesystem>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "initramfs/cpio.hpp"
#include "initramfs/modules.hpp"

namespace bulkhead::vmimage {

namespace {

constexpr std::size_t kMaxBinaryBytes = std::size_t{64} << 20;

}  // namespace

Result<std::string> build_app_initramfs(const GuestFiles& files, const guest::RunSpec& spec) {
    initramfs::CpioWriter cpio;
    for (const char* dir : {"dev", "proc", "sys", "run", "app", "lib", "lib/modules", "bulkhead"}) {
        if (auto added = cpio.add_directory(dir); !added) return fail(added.error());
    }
    // The kernel opens /dev/console for /init before anything is mounted.
    if (auto added = cpio.add_char_device("dev/console", 5, 1); !added) return fail(added.error());
    auto init = read_file_bounded(files.init, kMaxBinaryBytes);
    if (!init) return fail(init.error());
    if (auto added = cpio.add_file("init", *init, 0755); !added) return fail(added.error());
    if (auto added = initramfs::add_modules(cpio, files.modules_dir, files.modules); !added) return fail(added.error());
    if (auto added = cpio.add_file("bulkhead/argv", guest::join_nul_list(spec.argv)); !added)
        return fail(added.error());
    if (auto added = cpio.add_file("bulkhead/env", guest::join_nul_list(spec.env)); !added) return fail(added.error());
    if (auto added = cpio.add_file("bulkhead/restart", std::string(guest::restart_name(spec.restart))); !added) {
        return fail(added.error());
    }
    if (spec.network) {
        if (auto added = cpio.add_file("bulkhead/network", guest::format_guest_network(*spec.network)); !added) {
            return fail(added.error());
        }
    }
    if (!spec.shares.empty()) {
        if (auto added = cpio.add_file("bulkhead/shares", guest::format_guest_shares(spec.shares)); !added) {
            return fail(added.error());
        }
    }
    return cpio.finish();
}

}  // namespace bulkhead::vmimage
