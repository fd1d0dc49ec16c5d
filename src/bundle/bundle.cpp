#include "bundle/bundle.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>

#include "base/bytes.hpp"
#include "base/file_io.hpp"
#include "base/text.hpp"

namespace bulkhead::bundle {

namespace {

constexpr std::size_t kFixedBytes = 24;  // magic, version, count, total size
constexpr std::size_t kEntryBytes = 24;
constexpr std::uint64_t kMiB = std::uint64_t{1} << 20U;
constexpr std::size_t kChunkBytes = kMiB;

constexpr std::uint32_t kFirstType = static_cast<std::uint32_t>(EntryType::root);
constexpr std::uint32_t kLastType = static_cast<std::uint32_t>(EntryType::boot_manager);
constexpr std::uint32_t kLastRequiredType = static_cast<std::uint32_t>(EntryType::root_image);

bool known(EntryType type) {
    const auto value = static_cast<std::uint32_t>(type);
    return value >= kFirstType && value <= kLastType;
}

std::string entry_label(std::size_t index, EntryType type) {
    return concat({"entry ", std::to_string(index), " (", entry_type_name(type), ")"});
}

// value rounded up to a multiple of kBlockBytes, unless that does not fit in 64 bits.
bool align_up(std::uint64_t value, std::uint64_t& aligned) {
    if (value > std::numeric_limits<std::uint64_t>::max() - (kBlockBytes - 1)) return false;
    aligned = (value + kBlockBytes - 1) / kBlockBytes * kBlockBytes;
    return true;
}

// Reads exactly `length` bytes at `offset`; a file that ends sooner fails with `short_message`.
Result<void> pread_exactly(int fd, char* buffer, std::size_t length, std::uint64_t offset, const std::string& path,
                           std::string_view short_message) {
    std::size_t done = 0;
    while (done < length) {
        const ssize_t got = ::pread(fd, buffer + done, length - done, static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(Error::from_errno(errno, "reading " + path));
        if (got == 0) return fail(ErrorCode::io, concat({path, ": ", short_message}));
        done += static_cast<std::size_t>(got);
    }
    return {};
}

}  // namespace

std::string_view entry_type_name(EntryType type) noexcept {
    switch (type) {
        case EntryType::root: return "root";
        case EntryType::timestamp: return "timestamp";
        case EntryType::snapshot: return "snapshot";
        case EntryType::targets: return "targets";
        case EntryType::uki: return "uki";
        case EntryType::verity: return "verity";
        case EntryType::root_image: return "root_image";
        case EntryType::boot_manager: return "boot_manager";
    }
    return "unknown";
}

std::uint64_t size_cap(EntryType type) noexcept {
    switch (type) {
        case EntryType::root:
        case EntryType::timestamp:
        case EntryType::snapshot:
        case EntryType::targets: return kMiB;
        case EntryType::uki: return 512 * kMiB;
        case EntryType::verity: return 2048 * kMiB;
        case EntryType::root_image: return 16384 * kMiB;
        case EntryType::boot_manager: return 16 * kMiB;
    }
    return 0;
}

Result<Entry> Layout::find(EntryType type) const {
    const Entry* found = nullptr;
    for (const Entry& entry : entries) {
        if (entry.type != type) continue;
        if (found != nullptr) {
            return fail(ErrorCode::invalid_argument,
                        concat({"the bundle has more than one ", entry_type_name(type), " entry"}));
        }
        found = &entry;
    }
    if (found == nullptr) {
        return fail(ErrorCode::not_found, concat({"the bundle has no ", entry_type_name(type), " entry"}));
    }
    return *found;
}

std::vector<Entry> Layout::roots() const {
    std::vector<Entry> found;
    for (const Entry& entry : entries) {
        if (entry.type == EntryType::root) found.push_back(entry);
    }
    return found;
}

Result<void> check_layout(const Layout& layout) {
    if (layout.entries.empty()) return fail(ErrorCode::parse, "the bundle has no entries");
    std::array<std::size_t, kLastType + 1> seen{};
    std::uint64_t expected_offset = kBlockBytes;  // where the next entry must start
    std::uint64_t end = kBlockBytes;              // where the previous entry ended
    for (std::size_t i = 0; i < layout.entries.size(); ++i) {
        const Entry& entry = layout.entries[i];
        const auto value = static_cast<std::uint32_t>(entry.type);
        if (!known(entry.type)) {
            return fail(ErrorCode::parse,
                        concat({"entry ", std::to_string(i), " has unknown type ", std::to_string(value)}));
        }
        if (i > 0) {
            const EntryType previous = layout.entries[i - 1].type;
            if (entry.type < previous) {
                return fail(ErrorCode::parse,
                            concat({entry_label(i, entry.type), " comes after a ", entry_type_name(previous),
                                    " entry; entries must be in ascending type order"}));
            }
        }
        if (entry.type == EntryType::root ? seen[value] == kMaxRoots : seen[value] == 1) {
            return fail(ErrorCode::parse, entry.type == EntryType::root
                                              ? concat({"more than ", std::to_string(kMaxRoots), " root entries"})
                                              : concat({"entry ", std::to_string(i), " is a second ",
                                                        entry_type_name(entry.type), " entry"}));
        }
        ++seen[value];
        if (entry.length == 0) return fail(ErrorCode::parse, concat({entry_label(i, entry.type), " is empty"}));
        if (entry.length > size_cap(entry.type)) {
            return fail(ErrorCode::too_large, concat({entry_label(i, entry.type), " is ", std::to_string(entry.length),
                                                      " bytes, over the cap of ", std::to_string(size_cap(entry.type)),
                                                      " for ", entry_type_name(entry.type), " entries"}));
        }
        if (entry.offset % kBlockBytes != 0) {
            return fail(ErrorCode::parse, concat({entry_label(i, entry.type), " starts at ",
                                                  std::to_string(entry.offset), ", not a multiple of 4096"}));
        }
        if (entry.offset != expected_offset) {
            const bool gap = entry.offset > expected_offset;
            return fail(ErrorCode::parse,
                        concat({entry_label(i, entry.type), " starts at ", std::to_string(entry.offset), ", but ",
                                i == 0 ? "the header" : "the previous entry", " ends at ", std::to_string(end),
                                gap ? " (a gap: entries must follow each other)" : " (they overlap)"}));
        }
        // The offset equals the aligned end of capped entries, so this cannot overflow; the
        // check keeps it that way if the caps ever grow.
        if (entry.length > std::numeric_limits<std::uint64_t>::max() - entry.offset) {
            return fail(ErrorCode::too_large, concat({entry_label(i, entry.type), " ends beyond 2^64 bytes"}));
        }
        end = entry.offset + entry.length;
        if (!align_up(end, expected_offset)) {
            return fail(ErrorCode::too_large, concat({entry_label(i, entry.type), " ends too close to 2^64 bytes"}));
        }
    }
    if (seen[kFirstType] == 0) return fail(ErrorCode::parse, "the bundle has no root entry");
    for (std::uint32_t value = kFirstType + 1; value <= kLastRequiredType; ++value) {
        if (seen[value] == 0) {
            return fail(ErrorCode::parse,
                        concat({"the bundle has no ", entry_type_name(static_cast<EntryType>(value)), " entry"}));
        }
    }
    if (layout.total_size != end) {
        return fail(ErrorCode::parse, concat({"the header gives a total size of ", std::to_string(layout.total_size),
                                              " bytes, but the last entry ends at ", std::to_string(end)}));
    }
    return {};
}

Result<Layout> place_entries(std::vector<Entry> entries) {
    Layout layout;
    std::uint64_t offset = kBlockBytes;
    std::uint64_t end = kBlockBytes;
    for (Entry& entry : entries) {
        // Lengths come straight from the inputs here, before any cap is checked.
        if (entry.length > std::numeric_limits<std::uint64_t>::max() - offset) {
            return fail(ErrorCode::too_large, "the bundle's entries add up to more than 2^64 bytes");
        }
        entry.offset = offset;
        end = offset + entry.length;
        if (!align_up(end, offset)) {
            return fail(ErrorCode::too_large, "the bundle's entries add up to more than 2^64 bytes");
        }
    }
    layout.entries = std::move(entries);
    layout.total_size = end;
    if (auto checked = check_layout(layout); !checked) return fail(checked.error());
    return layout;
}

std::string encode_header(const Layout& layout) {
    std::string block(kMagic);
    append_le(block, kFormatVersion, 4);
    append_le(block, layout.entries.size(), 4);
    append_le(block, layout.total_size, 8);
    for (const Entry& entry : layout.entries) {
        append_le(block, static_cast<std::uint32_t>(entry.type), 4);
        append_le(block, 0, 4);  // flags: none are defined
        append_le(block, entry.offset, 8);
        append_le(block, entry.length, 8);
    }
    block.resize(kBlockBytes, '\0');
    return block;
}

Result<Layout> parse_header(std::string_view header_block, std::uint64_t file_size, Carrier carrier) {
    if (header_block.size() < kBlockBytes) {
        return fail(ErrorCode::parse, concat({"the bundle is truncated: it has ", std::to_string(header_block.size()),
                                              " bytes, fewer than its 4096-byte header"}));
    }
    if (header_block.size() > kBlockBytes) {
        return fail(ErrorCode::invalid_argument, "a bundle header block is exactly 4096 bytes");
    }
    if (header_block.substr(0, kMagic.size()) != kMagic) {
        return fail(ErrorCode::parse, "not an update bundle (no BLKHDBN1 magic)");
    }
    const std::uint64_t version = load_le(header_block, 8, 4);
    if (version != kFormatVersion) {
        return fail(ErrorCode::unsupported,
                    concat({"bundle format version ", std::to_string(version), " is not supported (only 1 is)"}));
    }
    const std::uint64_t count = load_le(header_block, 12, 4);
    if (count == 0) return fail(ErrorCode::parse, "the bundle header lists no entries");
    if (count > kMaxHeaderEntries) {
        return fail(ErrorCode::parse, concat({"the bundle header lists ", std::to_string(count),
                                              " entries, more than fit in its block"}));
    }
    const std::size_t entries_end = kFixedBytes + count * kEntryBytes;
    if (const std::size_t stray = header_block.find_first_not_of('\0', entries_end); stray != std::string_view::npos) {
        return fail(ErrorCode::parse, concat({"the bundle header has a nonzero byte at offset ", std::to_string(stray),
                                              ", after its entries"}));
    }

    Layout layout;
    layout.total_size = load_le(header_block, 16, 8);
    layout.entries.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t at = kFixedBytes + i * kEntryBytes;
        // Unknown types are kept as they are: check_layout refuses them with their number.
        const auto type = static_cast<EntryType>(load_le(header_block, at, 4));
        if (const std::uint64_t flags = load_le(header_block, at + 4, 4); flags != 0) {
            return fail(ErrorCode::parse,
                        concat({"entry ", std::to_string(i), " has flags ", hex(flags), "; no flags are defined"}));
        }
        layout.entries.push_back(Entry{type, load_le(header_block, at + 8, 8), load_le(header_block, at + 16, 8)});
    }
    if (auto checked = check_layout(layout); !checked) return fail(checked.error());
    if (file_size < layout.total_size) {
        return fail(ErrorCode::parse,
                    concat({"the bundle is truncated: its header gives ", std::to_string(layout.total_size),
                            " bytes, but the file has ", std::to_string(file_size)}));
    }
    if (file_size > layout.total_size && carrier == Carrier::file) {
        return fail(ErrorCode::parse,
                    concat({"the bundle file has ", std::to_string(file_size), " bytes, more than the ",
                            std::to_string(layout.total_size), " its header gives (data after the last entry)"}));
    }
    return layout;
}

Result<Bundle> Bundle::open(const std::string& path) {
    // O_NONBLOCK so that a FIFO put in the bundle's place cannot hang the open; it is then
    // refused as not a regular file, and regular files ignore the flag.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid() && errno == ELOOP) {
        return fail(ErrorCode::invalid_argument, path + " is a symbolic link; bundles are only opened directly");
    }
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening the bundle " + path));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return fail(Error::from_errno(errno, "examining the bundle " + path));
    const Carrier carrier = S_ISBLK(info.st_mode) ? Carrier::medium : Carrier::file;
    if (!S_ISREG(info.st_mode) && carrier != Carrier::medium) {
        return fail(ErrorCode::invalid_argument, path + ": the bundle is neither a regular file nor a block device");
    }
    auto file_size = static_cast<std::uint64_t>(info.st_size);
    if (carrier == Carrier::medium && ::ioctl(fd.get(), BLKGETSIZE64, &file_size) != 0) {
        return fail(Error::from_errno(errno, "reading the size of the update medium " + path));
    }

    std::string block(std::min(file_size, kBlockBytes), '\0');
    if (auto read = pread_exactly(fd.get(), block.data(), block.size(), 0, path, "the bundle changed while being read");
        !read) {
        return fail(read.error());
    }
    auto layout = parse_header(block, file_size, carrier);
    if (!layout) return fail(layout.error().code, concat({path, ": ", layout.error().message}));

    // The padding is not covered by the TUF metadata either; requiring zeros leaves no room
    // anywhere in the file for bytes that nothing checks.
    std::array<char, kBlockBytes> padding{};
    for (std::size_t i = 0; i + 1 < layout->entries.size(); ++i) {
        const Entry& entry = layout->entries[i];
        const std::uint64_t end = entry.offset + entry.length;
        const std::size_t gap = layout->entries[i + 1].offset - end;
        if (gap == 0) continue;
        if (auto read = pread_exactly(fd.get(), padding.data(), gap, end, path, "the bundle is truncated"); !read) {
            return fail(read.error());
        }
        for (std::size_t j = 0; j < gap; ++j) {
            if (padding[j] != '\0') {
                return fail(ErrorCode::parse, concat({path, ": nonzero padding byte at offset ",
                                                      std::to_string(end + j), " after ", entry_label(i, entry.type)}));
            }
        }
    }
    return Bundle(std::move(fd), std::move(layout).value(), path);
}

Result<void> Bundle::check_entry_is_ours(const Entry& entry) const {
    for (const Entry& ours : layout_.entries) {
        if (ours == entry) return {};
    }
    return fail(ErrorCode::invalid_argument, concat({"the ", entry_type_name(entry.type), " entry at offset ",
                                                     std::to_string(entry.offset), " is not one of ", path_, "'s"}));
}

Result<std::string> Bundle::read_entry(const Entry& entry) const {
    if (auto ours = check_entry_is_ours(entry); !ours) return fail(ours.error());
    if (entry.length > kMiB) {
        return fail(ErrorCode::too_large,
                    concat({"the ", entry_type_name(entry.type), " entry is ", std::to_string(entry.length),
                            " bytes, too large to read at once; stream it instead"}));
    }
    std::string data(entry.length, '\0');
    if (auto read = pread_exactly(fd_.get(), data.data(), data.size(), entry.offset, path_,
                                  "the bundle changed or is truncated since it was opened");
        !read) {
        return fail(read.error());
    }
    return data;
}

Result<void> Bundle::copy_entry(const Entry& entry, int out_fd,
                                const std::function<Result<void>(std::string_view)>& observe) const {
    if (auto ours = check_entry_is_ours(entry); !ours) return ours;
    std::vector<char> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(entry.length, kChunkBytes)));
    const std::string what = concat({"the ", entry_type_name(entry.type), " entry of ", path_});
    for (std::uint64_t done = 0; done < entry.length;) {
        const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(entry.length - done, buffer.size()));
        if (auto read = pread_exactly(fd_.get(), buffer.data(), piece, entry.offset + done, path_,
                                      "the bundle changed or is truncated since it was opened");
            !read) {
            return read;
        }
        const std::string_view chunk(buffer.data(), piece);
        if (observe) {
            if (auto observed = observe(chunk); !observed) return observed;
        }
        if (out_fd >= 0) {
            if (auto written = write_all(out_fd, chunk, what); !written) return written;
        }
        done += piece;
    }
    return {};
}

}  // namespace bulkhead::bundle
