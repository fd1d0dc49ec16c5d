// GUID partition tables, written by our own code: protective MBR, primary header and entries,
// backup entries and header, CRC32s; partitions aligned to 1 MiB. GUIDs are given and shown
// in their usual text form; on disk the first three fields are little-endian (UEFI spec 5.3).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::gpt {

using Guid = std::array<std::uint8_t, 16>;  // in text order (as printed), not on-disk order

Result<Guid> parse_guid(std::string_view text);
std::string guid_text(const Guid& guid);
// The 16 bytes of a GUID as UEFI stores it (first three fields little-endian).
std::string guid_disk_bytes(const Guid& guid);
// The first 16 bytes of `bytes` as a GUID, with the version-4 and variant bits set, as
// systemd derives partition UUIDs from a verity root hash.
Guid guid_from_bytes(std::string_view bytes);

// Partition types of the Discoverable Partitions Specification (x86-64).
inline constexpr std::string_view kEspType = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
inline constexpr std::string_view kRootType = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
inline constexpr std::string_view kRootVerityType = "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5";
inline constexpr std::string_view kLinuxDataType = "0fc63daf-8483-4772-8e79-3d69d8477de4";

inline constexpr std::uint64_t kReadOnlyAttribute = std::uint64_t{1} << 60U;
inline constexpr std::uint64_t kSectorBytes = 512;

struct PartitionSpec {
    std::string name;  // ASCII, at most 36 characters
    Guid type{};
    Guid uuid{};
    std::uint64_t size_bytes = 0;  // a multiple of 1 MiB
    std::uint64_t attributes = 0;
};

struct Placement {
    std::uint64_t first_lba = 0;
    std::uint64_t last_lba = 0;  // inclusive
    [[nodiscard]] std::uint64_t offset() const { return first_lba * kSectorBytes; }
    [[nodiscard]] std::uint64_t size() const { return (last_lba - first_lba + 1) * kSectorBytes; }
};

struct DiskLayout {
    Guid disk_guid{};
    std::vector<PartitionSpec> partitions;  // at most 128, in this order
};

// The size of a disk that holds the layout: 1 MiB before the first partition, the partitions
// back to back, and 1 MiB at the end for the backup table.
std::uint64_t disk_bytes(const DiskLayout& layout);

// Where each partition goes on a disk of disk_bytes(layout).
Result<std::vector<Placement>> place(const DiskLayout& layout);

// Writes the partition tables of `layout` to `fd` (a file of disk_bytes(layout), or larger
// device); partition contents are the caller's.
// `total_bytes` is the disk's real size when it is larger than the layout needs (0: exactly
// disk_bytes(layout)); the backup table goes at its end, the space after the last partition
// stays unused.
Result<std::vector<Placement>> write_partition_table(int fd, const DiskLayout& layout, std::uint64_t total_bytes = 0);

struct Entry {
    std::uint32_t number = 0;  // 1-based, as the kernel numbers partitions
    Guid type{};
    Guid uuid{};
    std::uint64_t first_lba = 0;
    std::uint64_t last_lba = 0;
    std::uint64_t attributes = 0;
    std::string name;  // its ASCII part; other characters become '?'
};

// Reads the table of a disk of `disk_bytes` from `fd`: the header's signature, size, CRC and
// position, the entries' CRC, and every used entry inside the usable area. The primary copy is
// read first; only when it is damaged (torn by a crash during set_partition_uuids) the backup.
Result<std::vector<Entry>> read_partition_table(int fd, std::uint64_t disk_bytes);

// Gives partitions (by number) new unique GUIDs, refusing a GUID another partition keeps. The
// backup copy is written and synced before the primary, so a crash at any moment leaves at
// least one complete copy, the old table or the new one.
Result<void> set_partition_uuids(int fd, std::uint64_t disk_bytes,
                                 const std::vector<std::pair<std::uint32_t, Guid>>& changes);

// The same, from the first 34 sectors of a disk already read (for tests and fuzzing).
Result<std::vector<Entry>> parse_partition_table(std::string_view first_sectors, std::uint64_t disk_bytes);

}  // namespace bulkhead::gpt
