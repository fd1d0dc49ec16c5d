#include "initrd/partitions.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::initrd {

namespace {

namespace fs = std::filesystem;

Result<std::uint64_t> read_number(const fs::path& path) {
    auto text = read_file_bounded(path.string(), 64);
    if (!text) return fail(text.error());
    std::uint64_t value = 0;
    std::size_t digits = 0;
    for (const char c : *text) {
        if (c == '\n') break;
        if (c < '0' || c > '9' || ++digits > 19) return fail(ErrorCode::parse, path.string() + " is not a number");
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (digits == 0) return fail(ErrorCode::parse, path.string() + " is empty");
    return value;
}

// The child of /sys/block/DISK whose `partition` file holds `number`.
std::string partition_device(const fs::path& disk, std::uint32_t number) {
    std::error_code error;
    for (const auto& child : fs::directory_iterator(disk, error)) {
        auto partition = read_number(child.path() / "partition");
        if (partition && *partition == number) return child.path().filename().string();
    }
    return {};
}

}  // namespace

gpt::Guid root_partition_uuid(std::string_view root_hash) { return gpt::guid_from_bytes(root_hash.substr(0, 16)); }

gpt::Guid verity_partition_uuid(std::string_view root_hash) {
    return gpt::guid_from_bytes(root_hash.substr(root_hash.size() >= 32 ? root_hash.size() - 16 : 0));
}

Result<Found> find_partitions(const std::string& sys, const std::string& dev, const gpt::Guid& root_uuid,
                              const gpt::Guid& verity_uuid) {
    if (root_uuid == verity_uuid) return fail(ErrorCode::invalid_argument, "the root and verity UUIDs are the same");
    Found found;
    std::string root_disk;
    std::string verity_disk;
    std::error_code error;
    for (const auto& disk : fs::directory_iterator(fs::path(sys) / "block", error)) {
        const std::string name = disk.path().filename().string();
        auto sectors = read_number(disk.path() / "size");
        if (!sectors || *sectors < 4096) continue;  // under 2 MiB: no GPT of ours
        const UniqueFd fd(::open(concat({dev, "/", name}).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
        if (!fd.valid()) continue;
        auto entries = gpt::read_partition_table(fd.get(), *sectors * gpt::kSectorBytes);
        if (!entries) continue;  // not a GPT disk (or a damaged one: it cannot hold our root)
        for (const gpt::Entry& entry : *entries) {
            const bool is_root = entry.uuid == root_uuid;
            if (!is_root && entry.uuid != verity_uuid) continue;
            std::string& slot = is_root ? found.root : found.verity;
            if (!slot.empty()) {
                return fail(ErrorCode::invalid_argument,
                            concat({"two partitions have the UUID ", gpt::guid_text(entry.uuid)}));
            }
            const std::string device = partition_device(disk.path(), entry.number);
            if (device.empty()) continue;  // the kernel has not made its device yet
            slot = concat({dev, "/", device});
            (is_root ? root_disk : verity_disk) = name;
        }
    }
    if (found.root.empty() || found.verity.empty()) {
        return fail(ErrorCode::not_found, concat({"no partitions with UUIDs ", gpt::guid_text(root_uuid), " and ",
                                                  gpt::guid_text(verity_uuid)}));
    }
    if (root_disk != verity_disk)
        return fail(ErrorCode::invalid_argument, "the root and verity partitions are on different disks");
    found.disk = concat({dev, "/", root_disk});
    return found;
}

}  // namespace bulkhead::initrd
