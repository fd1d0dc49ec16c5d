#include "gpt/gpt.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/bytes.hpp"
#include "base/text.hpp"

namespace bulkhead::gpt {

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kAlignLbas = kMiB / kSectorBytes;
constexpr std::uint32_t kEntryCount = 128;
constexpr std::uint32_t kEntryBytes = 128;
constexpr std::uint64_t kEntryLbas = std::uint64_t{kEntryCount} * kEntryBytes / kSectorBytes;  // 32
constexpr std::uint32_t kHeaderBytes = 92;
constexpr std::size_t kMaxNameChars = 36;

std::uint32_t crc32(const unsigned char* data, std::size_t length) {
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> entries{};
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1U) : c >> 1U;
            entries[n] = c;
        }
        return entries;
    }();
    std::uint32_t crc = 0xFFFFFFFFU;
    for (std::size_t i = 0; i < length; ++i) crc = table[(crc ^ data[i]) & 0xFFU] ^ (crc >> 8U);
    return crc ^ 0xFFFFFFFFU;
}

// On disk: time_low, time_mid and time_hi little-endian, the rest as written.
void put_guid(unsigned char* at, const Guid& guid) {
    static constexpr std::array<int, 16> kOrder = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    for (std::size_t i = 0; i < 16; ++i) at[i] = guid[static_cast<std::size_t>(kOrder[i])];
}

Result<void> write_at(int fd, const std::vector<unsigned char>& bytes, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t put = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return fail(Error::from_errno(errno, "writing the partition table"));
        done += static_cast<std::size_t>(put);
    }
    return {};
}

std::vector<unsigned char> header(const DiskLayout& layout, std::uint64_t my_lba, std::uint64_t other_lba,
                                  std::uint64_t entries_lba, std::uint64_t last_lba, std::uint32_t entries_crc) {
    std::vector<unsigned char> sector(kSectorBytes, 0);
    std::memcpy(sector.data(), "EFI PART", 8);
    store_le(&sector[8], 0x00010000, 4);
    store_le(&sector[12], kHeaderBytes, 4);
    store_le(&sector[24], my_lba, 8);
    store_le(&sector[32], other_lba, 8);
    store_le(&sector[40], 2 + kEntryLbas, 8);             // first usable
    store_le(&sector[48], last_lba - kEntryLbas - 1, 8);  // last usable
    put_guid(&sector[56], layout.disk_guid);
    store_le(&sector[72], entries_lba, 8);
    store_le(&sector[80], kEntryCount, 4);
    store_le(&sector[84], kEntryBytes, 4);
    store_le(&sector[88], entries_crc, 4);
    store_le(&sector[16], crc32(sector.data(), kHeaderBytes), 4);
    return sector;
}

Guid get_guid(std::string_view bytes, std::size_t at) {
    static constexpr std::array<int, 16> kOrder = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    Guid guid{};
    for (std::size_t i = 0; i < 16; ++i) {
        guid[static_cast<std::size_t>(kOrder[i])] = static_cast<std::uint8_t>(bytes[at + i]);
    }
    return guid;
}

}  // namespace

namespace {

// Checks one copy of the table: its header (primary at LBA 1, or backup at the last LBA, each
// pointing at the other and at its own entries) and the entries' CRC; returns the used entries.
Result<std::vector<Entry>> parse_copy(std::string_view header, std::string_view entries, std::uint64_t disk_bytes,
                                      bool primary) {
    if (header.substr(0, 8) != "EFI PART") return fail(ErrorCode::parse, "no GPT header (signature)");
    if (load_le(header, 8, 4) != 0x00010000 || load_le(header, 12, 4) != kHeaderBytes) {
        return fail(ErrorCode::parse, "unsupported GPT header revision or size");
    }
    std::string checked(header.substr(0, kHeaderBytes));
    std::memset(checked.data() + 16, 0, 4);
    if (crc32(reinterpret_cast<const unsigned char*>(checked.data()), kHeaderBytes) != load_le(header, 16, 4)) {
        return fail(ErrorCode::parse, "the GPT header's CRC does not match");
    }
    const std::uint64_t last_lba = disk_bytes / kSectorBytes - 1;
    const std::uint64_t first_usable = load_le(header, 40, 8);
    const std::uint64_t last_usable = load_le(header, 48, 8);
    const std::uint64_t my_lba = primary ? 1 : last_lba;
    const std::uint64_t other_lba = primary ? last_lba : 1;
    const std::uint64_t entries_lba = primary ? 2 : last_lba - kEntryLbas;
    if (load_le(header, 24, 8) != my_lba || load_le(header, 32, 8) != other_lba ||
        load_le(header, 72, 8) != entries_lba || load_le(header, 80, 4) != kEntryCount ||
        load_le(header, 84, 4) != kEntryBytes || first_usable < 2 + kEntryLbas ||
        last_usable >= last_lba - kEntryLbas || first_usable > last_usable) {
        return fail(ErrorCode::parse, "the GPT header describes a layout we do not write or read");
    }
    if (crc32(reinterpret_cast<const unsigned char*>(entries.data()), entries.size()) != load_le(header, 88, 4)) {
        return fail(ErrorCode::parse, "the GPT entries' CRC does not match");
    }
    std::vector<Entry> used;
    for (std::uint32_t i = 0; i < kEntryCount; ++i) {
        const std::string_view raw = entries.substr(std::size_t{i} * kEntryBytes, kEntryBytes);
        Entry entry;
        entry.type = get_guid(raw, 0);
        if (entry.type == Guid{}) continue;
        entry.number = i + 1;
        entry.uuid = get_guid(raw, 16);
        entry.first_lba = load_le(raw, 32, 8);
        entry.last_lba = load_le(raw, 40, 8);
        entry.attributes = load_le(raw, 48, 8);
        if (entry.first_lba < first_usable || entry.last_lba > last_usable || entry.first_lba > entry.last_lba) {
            return fail(ErrorCode::parse,
                        "GPT entry " + std::to_string(entry.number) + " lies outside the usable area");
        }
        for (std::size_t c = 0; c < kMaxNameChars; ++c) {
            const auto low = static_cast<unsigned char>(raw[56 + 2 * c]);
            const auto high = static_cast<unsigned char>(raw[57 + 2 * c]);
            if (low == 0 && high == 0) break;
            entry.name.push_back(high == 0 && low >= 0x20 && low < 0x7f ? static_cast<char>(low) : '?');
        }
        used.push_back(std::move(entry));
    }
    // Writers trust these extents: partitions that overlap would let one write reach another.
    std::vector<const Entry*> by_start;
    by_start.reserve(used.size());
    for (const Entry& entry : used) by_start.push_back(&entry);
    std::sort(by_start.begin(), by_start.end(),
              [](const Entry* a, const Entry* b) { return a->first_lba < b->first_lba; });
    for (std::size_t i = 1; i < by_start.size(); ++i) {
        if (by_start[i]->first_lba <= by_start[i - 1]->last_lba) {
            return fail(ErrorCode::parse, concat({"GPT entries ", std::to_string(by_start[i - 1]->number), " and ",
                                                  std::to_string(by_start[i]->number), " overlap"}));
        }
    }
    return used;
}

constexpr std::size_t kEntriesBytes = std::size_t{kEntryCount} * kEntryBytes;

Result<std::string> read_exactly(int fd, std::uint64_t offset, std::size_t size) {
    std::string bytes(size, '\0');
    std::size_t done = 0;
    while (done < size) {
        const ssize_t got = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(Error::from_errno(errno, "reading the partition table"));
        if (got == 0) return fail(ErrorCode::parse, "the disk is too small for a GPT");
        done += static_cast<std::size_t>(got);
    }
    return bytes;
}

// One copy of the table as it is on the disk: header sector and entries.
struct RawCopy {
    std::string header;
    std::string entries;
};

Result<RawCopy> read_copy(int fd, std::uint64_t disk_bytes, bool primary) {
    const std::uint64_t last_lba = disk_bytes / kSectorBytes - 1;
    auto header = read_exactly(fd, (primary ? 1 : last_lba) * kSectorBytes, kSectorBytes);
    if (!header) return fail(header.error());
    auto entries = read_exactly(fd, (primary ? 2 : last_lba - kEntryLbas) * kSectorBytes, kEntriesBytes);
    if (!entries) return fail(entries.error());
    return RawCopy{std::move(*header), std::move(*entries)};
}

}  // namespace

Result<std::vector<Entry>> parse_partition_table(std::string_view first_sectors, std::uint64_t disk_bytes) {
    constexpr std::size_t kNeeded = (2 + kEntryLbas) * kSectorBytes;
    if (first_sectors.size() < kNeeded || disk_bytes < 2 * kMiB || disk_bytes % kSectorBytes != 0) {
        return fail(ErrorCode::parse, "the disk is too small for a GPT");
    }
    return parse_copy(first_sectors.substr(kSectorBytes, kSectorBytes),
                      first_sectors.substr(2 * kSectorBytes, kEntriesBytes), disk_bytes, true);
}

Result<std::vector<Entry>> read_partition_table(int fd, std::uint64_t disk_bytes) {
    if (disk_bytes < 2 * kMiB || disk_bytes % kSectorBytes != 0) {
        return fail(ErrorCode::parse, "the disk is too small for a GPT");
    }
    auto primary = read_copy(fd, disk_bytes, true);
    if (!primary) return fail(primary.error());
    auto parsed = parse_copy(primary->header, primary->entries, disk_bytes, true);
    if (parsed) return parsed;
    // A primary table torn by a crash while set_partition_uuids rewrote it: the backup, which
    // is always written first, holds the complete table.
    auto backup = read_copy(fd, disk_bytes, false);
    if (!backup) return fail(parsed.error());
    auto from_backup = parse_copy(backup->header, backup->entries, disk_bytes, false);
    if (!from_backup) {
        return fail(ErrorCode::parse,
                    concat({"primary GPT: ", parsed.error().message, "; backup GPT: ", from_backup.error().message}));
    }
    return from_backup;
}

Result<void> set_partition_uuids(int fd, std::uint64_t disk_bytes,
                                 const std::vector<std::pair<std::uint32_t, Guid>>& changes) {
    auto current = read_partition_table(fd, disk_bytes);
    if (!current) return fail(current.error());
    auto primary = read_copy(fd, disk_bytes, true);
    if (!primary) return fail(primary.error());
    auto backup = read_copy(fd, disk_bytes, false);
    if (!backup) return fail(backup.error());
    const bool primary_good = parse_copy(primary->header, primary->entries, disk_bytes, true).has_value();
    std::string entries = primary_good ? primary->entries : backup->entries;
    for (const auto& [number, uuid] : changes) {
        const bool exists = std::any_of(current->begin(), current->end(),
                                        [number = number](const Entry& entry) { return entry.number == number; });
        if (!exists) return fail(ErrorCode::not_found, "no GPT partition " + std::to_string(number));
        for (const Entry& other : *current) {
            const bool changed_too = std::any_of(changes.begin(), changes.end(),
                                                 [&other](const auto& change) { return change.first == other.number; });
            if (!changed_too && other.uuid == uuid) {
                return fail(ErrorCode::invalid_argument, concat({"partition ", std::to_string(other.number),
                                                                 " already has the UUID ", guid_text(uuid)}));
            }
        }
        put_guid(reinterpret_cast<unsigned char*>(entries.data()) + std::size_t{number - 1} * kEntryBytes + 16, uuid);
    }
    const std::uint32_t entries_crc = crc32(reinterpret_cast<const unsigned char*>(entries.data()), entries.size());
    // Both headers are rebuilt from the good copy's fields; only the CRCs and positions differ.
    const std::string& model = primary_good ? primary->header : backup->header;
    const std::uint64_t last_lba = disk_bytes / kSectorBytes - 1;
    auto make_header = [&](bool for_primary) {
        std::vector<unsigned char> sector(model.begin(), model.end());
        store_le(&sector[24], for_primary ? 1 : last_lba, 8);
        store_le(&sector[32], for_primary ? last_lba : 1, 8);
        store_le(&sector[72], for_primary ? 2 : last_lba - kEntryLbas, 8);
        store_le(&sector[88], entries_crc, 4);
        store_le(&sector[16], 0, 4);
        store_le(&sector[16], crc32(sector.data(), kHeaderBytes), 4);
        return sector;
    };
    const std::vector<unsigned char> entry_bytes(entries.begin(), entries.end());
    // The backup first: whenever the primary is torn, the backup is complete and readers use it.
    for (const bool for_primary : {false, true}) {
        const std::uint64_t entries_at = (for_primary ? 2 : last_lba - kEntryLbas) * kSectorBytes;
        if (auto written = write_at(fd, entry_bytes, entries_at); !written) return fail(written.error());
        if (auto written = write_at(fd, make_header(for_primary), (for_primary ? 1 : last_lba) * kSectorBytes);
            !written) {
            return fail(written.error());
        }
        if (::fdatasync(fd) != 0) return fail(Error::from_errno(errno, "syncing the partition table"));
    }
    return {};
}

Result<Guid> parse_guid(std::string_view text) {
    if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') {
        return fail(ErrorCode::parse, concat({"'", text, "' is not a GUID (8-4-4-4-12 hex digits)"}));
    }
    Guid guid{};
    std::size_t byte = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '-') continue;
        const int high = hex_digit_value(text[i]);
        const int low = i + 1 < text.size() ? hex_digit_value(text[i + 1]) : -1;
        if (high < 0 || low < 0) return fail(ErrorCode::parse, concat({"'", text, "' is not a GUID"}));
        guid[byte++] = static_cast<std::uint8_t>(high * 16 + low);
        ++i;
    }
    return guid;
}

std::string guid_text(const Guid& guid) {
    const std::string raw = hex_encode(std::string_view(reinterpret_cast<const char*>(guid.data()), guid.size()));
    return concat(
        {raw.substr(0, 8), "-", raw.substr(8, 4), "-", raw.substr(12, 4), "-", raw.substr(16, 4), "-", raw.substr(20)});
}

std::string guid_disk_bytes(const Guid& guid) {
    std::string out(16, '\0');
    put_guid(reinterpret_cast<unsigned char*>(out.data()), guid);
    return out;
}

Guid guid_from_bytes(std::string_view bytes) {
    Guid guid{};
    for (std::size_t i = 0; i < guid.size() && i < bytes.size(); ++i) guid[i] = static_cast<std::uint8_t>(bytes[i]);
    guid[6] = static_cast<std::uint8_t>((guid[6] & 0x0FU) | 0x40U);
    guid[8] = static_cast<std::uint8_t>((guid[8] & 0x3FU) | 0x80U);
    return guid;
}

std::uint64_t disk_bytes(const DiskLayout& layout) {
    std::uint64_t total = 2 * kMiB;
    for (const PartitionSpec& partition : layout.partitions) total += partition.size_bytes;
    return total;
}

Result<std::vector<Placement>> place(const DiskLayout& layout) {
    if (layout.partitions.empty() || layout.partitions.size() > kEntryCount) {
        return fail(ErrorCode::invalid_argument, "a disk needs 1 to 128 partitions");
    }
    std::vector<Placement> placements;
    std::uint64_t next = kAlignLbas;
    for (const PartitionSpec& partition : layout.partitions) {
        if (partition.size_bytes == 0 || partition.size_bytes % kMiB != 0) {
            return fail(ErrorCode::invalid_argument, "partition " + partition.name + " must be a whole number of MiB");
        }
        if (partition.name.size() > kMaxNameChars) {
            return fail(ErrorCode::invalid_argument,
                        "partition name " + partition.name + " is longer than 36 characters");
        }
        for (const char c : partition.name) {
            if (c < 0x20 || c > 0x7e) return fail(ErrorCode::invalid_argument, "partition names are printable ASCII");
        }
        placements.push_back({next, next + partition.size_bytes / kSectorBytes - 1});
        next += partition.size_bytes / kSectorBytes;
    }
    return placements;
}

Result<std::vector<Placement>> write_partition_table(int fd, const DiskLayout& layout, std::uint64_t total_bytes) {
    auto placements = place(layout);
    if (!placements) return fail(placements.error());
    if (total_bytes == 0) total_bytes = disk_bytes(layout);
    if (total_bytes < disk_bytes(layout) || total_bytes % kSectorBytes != 0) {
        return fail(ErrorCode::invalid_argument, "the disk is smaller than the layout or not whole sectors");
    }
    const std::uint64_t sectors = total_bytes / kSectorBytes;
    const std::uint64_t last_lba = sectors - 1;

    std::vector<unsigned char> entries(std::size_t{kEntryCount} * kEntryBytes, 0);
    for (std::size_t i = 0; i < layout.partitions.size(); ++i) {
        const PartitionSpec& partition = layout.partitions[i];
        unsigned char* entry = &entries[i * kEntryBytes];
        put_guid(entry, partition.type);
        put_guid(entry + 16, partition.uuid);
        store_le(entry + 32, (*placements)[i].first_lba, 8);
        store_le(entry + 40, (*placements)[i].last_lba, 8);
        store_le(entry + 48, partition.attributes, 8);
        for (std::size_t c = 0; c < partition.name.size(); ++c)
            entry[56 + 2 * c] = static_cast<unsigned char>(partition.name[c]);
    }
    const std::uint32_t entries_crc = crc32(entries.data(), entries.size());

    // The protective MBR: one partition of type 0xEE covering the disk (at most 2^32-1 sectors).
    std::vector<unsigned char> mbr(kSectorBytes, 0);
    unsigned char* record = &mbr[446];
    record[1] = 0x00;
    record[2] = 0x02;  // CHS of LBA 1
    record[4] = 0xEE;
    record[5] = record[6] = record[7] = 0xFF;
    store_le(record + 8, 1, 4);
    store_le(record + 12, std::min<std::uint64_t>(sectors - 1, 0xFFFFFFFFU), 4);
    mbr[510] = 0x55;
    mbr[511] = 0xAA;

    const std::uint64_t backup_entries = last_lba - kEntryLbas;
    for (const auto& [bytes, offset] : std::vector<std::pair<std::vector<unsigned char>, std::uint64_t>>{
             {mbr, 0},
             {header(layout, 1, last_lba, 2, last_lba, entries_crc), kSectorBytes},
             {entries, 2 * kSectorBytes},
             {entries, backup_entries * kSectorBytes},
             {header(layout, last_lba, 1, backup_entries, last_lba, entries_crc), last_lba * kSectorBytes}}) {
        if (auto written = write_at(fd, bytes, offset); !written) return fail(written.error());
    }
    return placements;
}

}  // namespace bulkhead::gpt
