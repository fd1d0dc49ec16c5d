// Writing the "newc" cpio archives Linux unpacks as its initramfs. Our own writer because the
// archive must hold a /dev/console device node (the kernel opens it before /init runs), which
// the cpio tool can only take from a real node made by root; and because the output must be
// reproducible: every timestamp, owner and inode number is fixed, entries keep their order.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::initramfs {

class CpioWriter {
public:
    // Paths are relative ("dev/console"), without "." or ".." segments; a parent directory must
    // be added before what it holds. Every entry is owned by root, dated 1970-01-01.
    Result<void> add_directory(const std::string& path, std::uint32_t permissions = 0755);
    // Adds, 0755, each directory above `path` that is not in the archive yet.
    Result<void> add_parent_directories(const std::string& path);
    Result<void> add_file(const std::string& path, std::string_view contents, std::uint32_t permissions = 0644);
    Result<void> add_char_device(const std::string& path, std::uint32_t major, std::uint32_t minor,
                                 std::uint32_t permissions = 0600);
    Result<void> add_symlink(const std::string& path, const std::string& target);

    // The archive, ended by the TRAILER!!! entry. The writer is empty again afterwards.
    std::string finish();

private:
    Result<void> check_path(const std::string& path) const;
    void append_entry(const std::string& name, std::uint32_t mode, std::uint32_t nlink, std::string_view data,
                      std::uint32_t rdev_major, std::uint32_t rdev_minor);

    std::string archive_;
    std::set<std::string> directories_;
    std::set<std::string> entries_;
    std::uint32_t next_inode_ = 1;
};

}  // namespace bulkhead::initramfs
