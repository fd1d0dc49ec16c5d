// The update bundle: one file that carries everything an update needs (TUF metadata, the signed
// UKI, the dm-verity hash tree and the erofs root), so it can travel on a USB stick or a single
// download. The container is deliberately simple and holds NO hashes: integrity comes only from
// the TUF metadata inside it, which the caller verifies against the root of trust it already
// holds before trusting any byte of the other entries. The container only has to be impossible
// to misread: a fixed layout, strict parsing, nothing unchecked.
//
// Version 1, all integers little-endian:
//   block 0 (4096 bytes): "BLKHDBN1", version u32 = 1, entry count u32, total size u64 (the
//   file's exact size), then `count` entries {type u32, flags u32 = 0, offset u64, length u64};
//   every other byte of the block is zero.
//   Entries in ascending type order: 1 to 32 roots (consecutive root versions, for key
//   rotation, in file order), then exactly one each of timestamp, snapshot, targets, uki,
//   verity, root_image, then at most one boot_manager. The first starts at 4096, each next one at the 4096-aligned end
//   of the previous one, the padding between them is zero, and the file ends at the last byte of the last entry.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::bundle {

// boot_manager (the signed systemd-boot) is the one optional type: the installer needs it,
// an update of the slots does not.
enum class EntryType : std::uint32_t { root = 1, timestamp, snapshot, targets, uki, verity, root_image, boot_manager };

// "root", "timestamp", ..., "root_image"; "unknown" for values outside the enumeration.
std::string_view entry_type_name(EntryType type) noexcept;

inline constexpr std::string_view kMagic = "BLKHDBN1";  // the first 8 bytes of every bundle
inline constexpr std::uint64_t kBlockBytes = 4096;
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kMaxRoots = 32;
// How many 24-byte entries fit in the header block after its 24 fixed bytes; the type rules
// allow at most 38 of them.
inline constexpr std::uint32_t kMaxHeaderEntries = (kBlockBytes - 24) / 24;

// The largest entry of a type: 1 MiB for TUF metadata, 512 MiB for the UKI, 2 GiB for the
// verity tree, 16 GiB for the root image, 16 MiB for the boot manager; 0 for unknown types.
std::uint64_t size_cap(EntryType type) noexcept;

struct Entry {
    EntryType type = EntryType::root;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;

    friend bool operator==(const Entry&, const Entry&) = default;
};

struct Layout {
    std::vector<Entry> entries;
    std::uint64_t total_size = 0;

    // The entry of `type`; fails unless exactly one entry has it.
    [[nodiscard]] Result<Entry> find(EntryType type) const;
    // The root entries in file order (oldest version first, as the writer was given them).
    [[nodiscard]] std::vector<Entry> roots() const;
};

// Every rule of the format that the entries and total size must satisfy (types, order,
// counts, lengths, caps, placement). parse_header and write_bundle both apply it.
Result<void> check_layout(const Layout& layout);

// Places entries of the given types and lengths (offsets ignored) one after the other as the
// format requires, and checks the result with check_layout.
Result<Layout> place_entries(std::vector<Entry> entries);

// The 4096-byte header block describing `layout` (which should have passed check_layout).
std::string encode_header(const Layout& layout);

// Where a bundle is read from. A file must be exactly the bundle; an update medium (a whole
// disk the bundle was written onto raw, so the core never mounts a file system it was handed)
// is as large as the disk, and what lies after the bundle's last byte is not read.
enum class Carrier { file, medium };

// Parses and checks block 0 of a bundle whose file (or medium) is `size` bytes. header_block
// holds the first 4096 bytes of it (fewer only when it is shorter, which is refused as a
// truncated bundle). Padding between entries lies outside the block; Bundle::open checks it.
Result<Layout> parse_header(std::string_view header_block, std::uint64_t size, Carrier carrier = Carrier::file);

// An open bundle file whose header and padding have been checked. Entries are read with pread
// at their fixed offsets, so one Bundle may serve several readers one after the other.
class Bundle {
public:
    // Opens path (never following a final symlink): a regular file holding exactly the bundle,
    // or a block device (an update medium) the bundle was written onto from its first byte.
    static Result<Bundle> open(const std::string& path);

    [[nodiscard]] const Layout& layout() const { return layout_; }

    // The contents of a metadata-sized entry (at most 1 MiB); larger entries are refused and
    // must be streamed with copy_entry.
    [[nodiscard]] Result<std::string> read_entry(const Entry& entry) const;

    // Streams an entry in 1 MiB chunks: each chunk goes to `observe` (where the caller hashes
    // it; may be empty) and then to out_fd (unless out_fd is -1). Fails if the file no longer
    // holds the whole entry, which means it changed or was truncated since open.
    [[nodiscard]] Result<void> copy_entry(const Entry& entry, int out_fd,
                                          const std::function<Result<void>(std::string_view)>& observe) const;

private:
    Bundle(UniqueFd fd, Layout layout, std::string path)
        : fd_(std::move(fd)), layout_(std::move(layout)), path_(std::move(path)) {}
    [[nodiscard]] Result<void> check_entry_is_ours(const Entry& entry) const;

    UniqueFd fd_;
    Layout layout_;
    std::string path_;
};

struct Input {
    EntryType type = EntryType::root;
    std::string path;
};

// Writes a bundle of `inputs` (in the order the format requires) to out_path, which must not
// exist yet. The rules are checked before anything is written; inputs are streamed, never read
// whole, and must not change size meanwhile. The file appears under out_path complete and
// synced, or not at all: it is built in a temporary file beside it, which is removed on failure.
Result<void> write_bundle(const std::vector<Input>& inputs, const std::string& out_path);

}  // namespace bulkhead::bundle
