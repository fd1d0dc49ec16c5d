#include "initramfs/cpio.hpp"

#include <array>
#include <string_view>

namespace bulkhead::initramfs {

namespace {

constexpr std::uint32_t kTypeDirectory = 0040000;
constexpr std::uint32_t kTypeFile = 0100000;
constexpr std::uint32_t kTypeCharDevice = 0020000;
constexpr std::uint32_t kTypeSymlink = 0120000;
constexpr std::uint64_t kMaxEntryBytes = 0xFFFFFFFFU;

void append_hex8(std::string& out, std::uint32_t value) {
    constexpr std::string_view kDigits = "0123456789ABCDEF";
    for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kDigits[(value >> static_cast<unsigned>(shift)) & 0xFU]);
}

void pad4(std::string& out) {
    while (out.size() % 4 != 0) out.push_back('\0');
}

}  // namespace

Result<void> CpioWriter::check_path(const std::string& path) const {
    if (path.empty() || path.front() == '/' || path.back() == '/' || path.size() > 1024) {
        return fail(ErrorCode::invalid_argument, "initramfs path '" + path + "' must be relative and not empty");
    }
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = path.find('/', start);
        const std::string segment = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (segment.empty() || segment == "." || segment == ".." || segment.find('\0') != std::string::npos) {
            return fail(ErrorCode::invalid_argument, "initramfs path '" + path + "' has an empty, '.' or '..' segment");
        }
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    if (entries_.contains(path)) return fail(ErrorCode::invalid_argument, "initramfs path '" + path + "' added twice");
    const std::size_t slash = path.rfind('/');
    if (slash != std::string::npos && !directories_.contains(path.substr(0, slash))) {
        return fail(ErrorCode::invalid_argument,
                    "initramfs path '" + path + "': add its directory '" + path.substr(0, slash) + "' first");
    }
    return {};
}

void CpioWriter::append_entry(const std::string& name, std::uint32_t mode, std::uint32_t nlink, std::string_view data,
                              std::uint32_t rdev_major, std::uint32_t rdev_minor) {
    archive_ += "070701";
    const std::array<std::uint32_t, 13> fields = {next_inode_++,
                                                  mode,
                                                  0,  // uid
                                                  0,  // gid
                                                  nlink,
                                                  0,  // mtime
                                                  static_cast<std::uint32_t>(data.size()),
                                                  0,  // devmajor
                                                  0,  // devminor
                                                  rdev_major,
                                                  rdev_minor,
                                                  static_cast<std::uint32_t>(name.size() + 1),
                                                  0};  // check
    for (const std::uint32_t field : fields) append_hex8(archive_, field);
    archive_ += name;
    archive_.push_back('\0');
    pad4(archive_);
    archive_.append(data);
    pad4(archive_);
}

Result<void> CpioWriter::add_directory(const std::string& path, std::uint32_t permissions) {
    if (auto checked = check_path(path); !checked) return checked;
    append_entry(path, kTypeDirectory | (permissions & 07777U), 2, {}, 0, 0);
    directories_.insert(path);
    entries_.insert(path);
    return {};
}

Result<void> CpioWriter::add_parent_directories(const std::string& path) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        const std::string parent = path.substr(0, slash);
        if (directories_.contains(parent)) continue;
        if (auto added = add_directory(parent); !added) return added;
    }
    return {};
}

Result<void> CpioWriter::add_file(const std::string& path, std::string_view contents, std::uint32_t permissions) {
    if (auto checked = check_path(path); !checked) return checked;
    if (contents.size() > kMaxEntryBytes)
        return fail(ErrorCode::too_large, "initramfs file '" + path + "' is over 4 GiB");
    append_entry(path, kTypeFile | (permissions & 07777U), 1, contents, 0, 0);
    entries_.insert(path);
    return {};
}

Result<void> CpioWriter::add_char_device(const std::string& path, std::uint32_t major, std::uint32_t minor,
                                         std::uint32_t permissions) {
    if (auto checked = check_path(path); !checked) return checked;
    append_entry(path, kTypeCharDevice | (permissions & 07777U), 1, {}, major, minor);
    entries_.insert(path);
    return {};
}

Result<void> CpioWriter::add_symlink(const std::string& path, const std::string& target) {
    if (auto checked = check_path(path); !checked) return checked;
    if (target.empty() || target.size() > 4096 || target.find('\0') != std::string::npos) {
        return fail(ErrorCode::invalid_argument, "initramfs symlink '" + path + "' has a bad target");
    }
    append_entry(path, kTypeSymlink | 0777U, 1, target, 0, 0);
    entries_.insert(path);
    return {};
}

std::string CpioWriter::finish() {
    append_entry("TRAILER!!!", 0, 1, {}, 0, 0);
    // The kernel reads the archive in 512-byte blocks, as cpio writes it.
    while (archive_.size() % 512 != 0) archive_.push_back('\0');
    std::string archive = std::move(archive_);
    archive_.clear();
    directories_.clear();
    entries_.clear();
    next_inode_ = 1;
    return archive;
}

}  // namespace bulkhead::initramfs
