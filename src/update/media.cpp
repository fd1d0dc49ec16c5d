#include "update/media.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string_view>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "bundle/bundle.hpp"

namespace bulkhead::update {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxDisks = 256;
constexpr std::size_t kMaxNameBytes = 32;

// Kernel block device names: letters, digits, and nothing that could leave dev_dir.
bool plain_name(std::string_view name) {
    return !name.empty() && name.size() <= kMaxNameBytes && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    });
}

bool has_partitions(const fs::path& disk) {
    std::error_code error;
    for (auto entry = fs::directory_iterator(disk, error); !error && entry != fs::directory_iterator();
         entry.increment(error)) {
        std::error_code ignored;
        if (entry->is_directory(ignored) && fs::exists(entry->path() / "partition", ignored)) return true;
    }
    return false;
}

bool starts_with_magic(const std::string& device) {
    const UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW));
    if (!fd.valid()) return false;
    std::string head(bundle::kMagic.size(), '\0');
    std::size_t done = 0;
    while (done < head.size()) {
        const ssize_t got = ::pread(fd.get(), head.data() + done, head.size() - done, static_cast<off_t>(done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        done += static_cast<std::size_t>(got);
    }
    return head == bundle::kMagic;
}

}  // namespace

Result<std::vector<std::string>> find_update_media(const std::string& sys_block_dir, const std::string& dev_dir) {
    std::vector<std::string> names;
    std::error_code error;
    for (auto entry = fs::directory_iterator(sys_block_dir, error); !error && entry != fs::directory_iterator();
         entry.increment(error)) {
        const std::string name = entry->path().filename().string();
        if (!plain_name(name)) continue;
        if (names.size() >= kMaxDisks) return fail(ErrorCode::too_large, "more than 256 disks are attached");
        names.push_back(name);
    }
    if (error) return fail(ErrorCode::io, concat({"listing ", sys_block_dir, ": ", error.message()}));
    std::sort(names.begin(), names.end());

    std::vector<std::string> media;
    for (const std::string& name : names) {
        const fs::path disk = fs::path(sys_block_dir) / name;
        std::error_code ignored;
        if (!fs::exists(disk / "device", ignored) || has_partitions(disk)) continue;
        auto sectors = read_file_bounded((disk / "size").string(), 64);
        if (!sectors || sectors->empty() || sectors->front() == '0') continue;
        const std::string device = concat({dev_dir, "/", name});
        if (starts_with_magic(device)) media.push_back(device);
    }
    return media;
}

}  // namespace bulkhead::update
