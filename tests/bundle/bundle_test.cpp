// The update-bundle container: the writer's output read back, every rule of the header parser
// broken one at a time, padding and truncation caught when opening and while streaming, and a
// writer that leaves nothing behind when it refuses.
#include "bundle/bundle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <limits>
#include <set>
#include <utility>

#include <gtest/gtest.h>

#include "base/bytes.hpp"
#include "base/unique_fd.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::bundle {
namespace {

using testing::TempDir;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20U;
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

// Header field positions, written out here rather than taken from the implementation.
constexpr std::size_t kVersionAt = 8;
constexpr std::size_t kCountAt = 12;
constexpr std::size_t kTotalAt = 16;
std::size_t type_at(std::size_t i) { return 24 + 24 * i; }
std::size_t flags_at(std::size_t i) { return 28 + 24 * i; }
std::size_t offset_at(std::size_t i) { return 32 + 24 * i; }
std::size_t length_at(std::size_t i) { return 40 + 24 * i; }

void put(std::string& block, std::size_t at, std::uint64_t value, int width) {
    store_le(reinterpret_cast<unsigned char*>(block.data() + at), value, width);
}

// Places entries back to back with 4096-byte alignment, without checking any rule, so tests can
// build layouts the library itself would refuse to produce.
Layout place(const std::vector<std::pair<EntryType, std::uint64_t>>& types_and_lengths) {
    Layout layout;
    std::uint64_t offset = 4096;
    for (const auto& [type, length] : types_and_lengths) {
        layout.entries.push_back(Entry{type, offset, length});
        layout.total_size = offset + length;
        offset = (layout.total_size + 4095) / 4096 * 4096;
    }
    return layout;
}

std::vector<std::pair<EntryType, std::uint64_t>> standard_entries() {
    return {{EntryType::root, 100},   {EntryType::root, 200}, {EntryType::timestamp, 10}, {EntryType::snapshot, 20},
            {EntryType::targets, 30}, {EntryType::uki, 5000}, {EntryType::verity, 4096},  {EntryType::root_image, 1}};
}

// The standard layout: roots at 4096 and 8192, timestamp 12288, snapshot 16384, targets 20480,
// uki 24576 (5000 bytes, so padded to 32768), verity 32768 (exactly one block, no padding),
// root_image 36864 (1 byte), total 36865.
std::string standard_block() { return encode_header(place(standard_entries())); }
constexpr std::uint64_t kStandardTotal = 36865;

Result<Layout> parse(const std::string& block, std::uint64_t file_size = kStandardTotal) {
    return parse_header(block, file_size);
}

#define EXPECT_REFUSED(result, expected_code, fragment)                                                    \
    do {                                                                                                   \
        const auto& refused_ = (result);                                                                   \
        ASSERT_FALSE(refused_) << "accepted, expected: " << (fragment);                                    \
        EXPECT_EQ(refused_.error().code, (expected_code)) << refused_.error().message;                     \
        EXPECT_NE(refused_.error().message.find(fragment), std::string::npos) << refused_.error().message; \
    } while (false)

std::set<std::string> names_in(const std::filesystem::path& dir) {
    std::set<std::string> names;
    for (const auto& item : std::filesystem::directory_iterator(dir)) names.insert(item.path().filename().string());
    return names;
}

std::string pattern(std::size_t size, char seed) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(seed + static_cast<char>(i % 251));
    return data;
}

struct Payload {
    EntryType type;
    std::string name;
    std::string contents;
};

// Payload sizes 1, 4095, 4096 and 4097 exercise every case of the alignment padding.
std::vector<Payload> sample_payloads() {
    return {
        {EntryType::root, "1.root.json", R"({"signed":{"version":1}})"},
        {EntryType::root, "2.root.json", R"({"signed":{"version":2}})"},
        {EntryType::timestamp, "timestamp.json", "t"},
        {EntryType::snapshot, "snapshot.json", pattern(4095, 's')},
        {EntryType::targets, "targets.json", pattern(4096, 'g')},
        {EntryType::uki, "bulkhead.efi", pattern(4097, 'u')},
        {EntryType::verity, "root.verity", pattern(8192, 'v')},
        {EntryType::root_image, "root.erofs", pattern(3 * kMiB + 5, 'r')},
    };
}

std::vector<Input> write_inputs(const TempDir& dir, const std::vector<Payload>& payloads) {
    std::vector<Input> inputs;
    for (const Payload& payload : payloads) {
        inputs.push_back(Input{payload.type, dir.write("in/" + payload.name, payload.contents).string()});
    }
    return inputs;
}

std::string write_sample(const TempDir& dir) {
    const std::string out = (dir.path() / "update.bundle").string();
    auto written = write_bundle(write_inputs(dir, sample_payloads()), out);
    EXPECT_TRUE(written) << written.error().message;
    return out;
}

TEST(BundleHeader, AcceptsTheStandardLayout) {
    auto layout = parse(standard_block());
    ASSERT_TRUE(layout) << layout.error().message;
    EXPECT_EQ(layout->total_size, kStandardTotal);
    ASSERT_EQ(layout->entries.size(), 8U);
    const std::vector<std::uint64_t> offsets = {4096, 8192, 12288, 16384, 20480, 24576, 32768, 36864};
    for (std::size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(layout->entries[i].offset, offsets[i]) << i;
    EXPECT_EQ(layout->entries[5].type, EntryType::uki);
    EXPECT_EQ(layout->entries[5].length, 5000U);

    auto uki = layout->find(EntryType::uki);
    ASSERT_TRUE(uki);
    EXPECT_EQ(uki->offset, 24576U);
    EXPECT_EQ(layout->find(EntryType::root).error().code, ErrorCode::invalid_argument);  // two of them
    const std::vector<Entry> roots = layout->roots();
    ASSERT_EQ(roots.size(), 2U);
    EXPECT_EQ(roots[0].length, 100U);
    EXPECT_EQ(roots[1].length, 200U);
    EXPECT_EQ(Layout{}.find(EntryType::uki).error().code, ErrorCode::not_found);
}

TEST(BundleHeader, PlaceEntriesMatchesTheFormat) {
    std::vector<Entry> entries;
    for (const auto& [type, length] : standard_entries()) entries.push_back(Entry{type, 0, length});
    auto placed = place_entries(entries);
    ASSERT_TRUE(placed) << placed.error().message;
    EXPECT_EQ(placed->entries, place(standard_entries()).entries);
    EXPECT_EQ(placed->total_size, kStandardTotal);
    EXPECT_EQ(encode_header(*placed), standard_block());

    entries.erase(entries.begin() + 4);  // targets
    EXPECT_REFUSED(place_entries(entries), ErrorCode::parse, "no targets entry");
    entries = {{EntryType::root, 0, kMax}, {EntryType::root, 0, kMax}};
    EXPECT_REFUSED(place_entries(entries), ErrorCode::too_large, "2^64");
}

TEST(BundleHeader, TheBootManagerIsOptionalLastAndSingle) {
    std::vector<Entry> entries = {{EntryType::root, 0, 10},      {EntryType::timestamp, 0, 10},
                                  {EntryType::snapshot, 0, 10},  {EntryType::targets, 0, 10},
                                  {EntryType::uki, 0, 10},       {EntryType::verity, 0, 10},
                                  {EntryType::root_image, 0, 10}};
    ASSERT_TRUE(place_entries(entries));
    entries.push_back({EntryType::boot_manager, 0, 16 * kMiB});
    auto with_boot_manager = place_entries(entries);
    ASSERT_TRUE(with_boot_manager) << with_boot_manager.error().message;
    EXPECT_EQ(with_boot_manager->find(EntryType::boot_manager)->length, 16 * kMiB);
    EXPECT_EQ(entry_type_name(EntryType::boot_manager), "boot_manager");
    auto twice = entries;
    twice.push_back({EntryType::boot_manager, 0, 10});
    EXPECT_REFUSED(place_entries(twice), ErrorCode::parse, "second boot_manager entry");
    auto early = entries;
    std::swap(early[6], early[7]);
    EXPECT_REFUSED(place_entries(early), ErrorCode::parse, "ascending type order");
    entries.back().length = 16 * kMiB + 1;
    EXPECT_REFUSED(place_entries(entries), ErrorCode::too_large, "boot_manager");
}

TEST(BundleHeader, RefusesAShortOrLongBlock) {
    EXPECT_REFUSED(parse(standard_block().substr(0, 100)), ErrorCode::parse, "truncated");
    EXPECT_REFUSED(parse(""), ErrorCode::parse, "truncated");
    EXPECT_REFUSED(parse(standard_block() + '\0'), ErrorCode::invalid_argument, "exactly 4096");
}

TEST(BundleHeader, RefusesBadMagicAndVersion) {
    std::string block = standard_block();
    block[7] = '2';
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "magic");
    block = standard_block();
    put(block, kVersionAt, 2, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::unsupported, "version 2");
    put(block, kVersionAt, 0, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::unsupported, "version 0");
}

TEST(BundleHeader, RefusesNoEntriesOrTooMany) {
    std::string block = standard_block();
    put(block, kCountAt, 0, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "lists no entries");
    put(block, kCountAt, 170, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "more than fit");
    put(block, kCountAt, 0xffffffff, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "more than fit");
    // One more entry than written: the extra one reads as all zeros, type 0.
    put(block, kCountAt, 9, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "entry 8 has unknown type 0");
}

TEST(BundleHeader, RefusesUnknownTypesAndFlags) {
    std::string block = standard_block();
    put(block, type_at(7), 9, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "entry 7 has unknown type 9");
    put(block, type_at(7), 0x80000007, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "unknown type 2147483655");
    block = standard_block();
    put(block, flags_at(3), 1, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "entry 3 has flags 0x1");
    block = standard_block();
    put(block, flags_at(0), 0x80000000, 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "flags 0x80000000");
}

TEST(BundleHeader, RefusesWrongOrderMissingAndDuplicates) {
    std::string block = standard_block();
    put(block, type_at(2), static_cast<std::uint32_t>(EntryType::snapshot), 4);
    put(block, type_at(3), static_cast<std::uint32_t>(EntryType::timestamp), 4);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "entry 3 (timestamp) comes after a snapshot entry");

    auto entries = standard_entries();
    entries.erase(entries.begin() + 4);  // targets
    const Layout no_targets = place(entries);
    EXPECT_REFUSED(parse_header(encode_header(no_targets), no_targets.total_size), ErrorCode::parse,
                   "no targets entry");

    entries = standard_entries();
    entries.erase(entries.begin(), entries.begin() + 2);  // both roots
    const Layout no_root = place(entries);
    EXPECT_REFUSED(parse_header(encode_header(no_root), no_root.total_size), ErrorCode::parse, "no root entry");

    entries = standard_entries();
    entries.insert(entries.begin() + 5, {EntryType::uki, 7});
    const Layout two_ukis = place(entries);
    EXPECT_REFUSED(parse_header(encode_header(two_ukis), two_ukis.total_size), ErrorCode::parse,
                   "entry 6 is a second uki entry");
}

TEST(BundleHeader, AcceptsUpTo32Roots) {
    auto entries = standard_entries();
    entries.insert(entries.begin(), 30, {EntryType::root, 1});
    const Layout many = place(entries);
    auto parsed = parse_header(encode_header(many), many.total_size);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->roots().size(), 32U);

    entries.insert(entries.begin(), {EntryType::root, 1});
    const Layout too_many = place(entries);
    EXPECT_REFUSED(parse_header(encode_header(too_many), too_many.total_size), ErrorCode::parse,
                   "more than 32 root entries");
}

TEST(BundleHeader, RefusesMisplacedEntries) {
    std::string block = standard_block();
    put(block, offset_at(2), 12288 + 1, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "entry 2 (timestamp) starts at 12289, not a multiple of 4096");
    put(block, offset_at(2), 12288 + 4096, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "a gap");
    put(block, offset_at(2), 8192, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "overlap");
    block = standard_block();
    put(block, offset_at(0), 0, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "the header ends at 4096 (they overlap)");
    block = standard_block();
    put(block, offset_at(0), 8192, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "a gap");
    // The uki's 5000 bytes end at 29576: the verity tree must start at the next block, 32768.
    block = standard_block();
    put(block, offset_at(6), 28672, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "overlap");
}

TEST(BundleHeader, RefusesEmptyEntries) {
    std::string block = standard_block();
    put(block, length_at(2), 0, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "entry 2 (timestamp) is empty");
    block = standard_block();
    put(block, length_at(7), 0, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "entry 7 (root_image) is empty");
}

TEST(BundleHeader, RefusesSizeMismatches) {
    std::string block = standard_block();
    put(block, kTotalAt, kStandardTotal + 1, 8);
    EXPECT_REFUSED(parse(block, kStandardTotal + 1), ErrorCode::parse,
                   "total size of 36866 bytes, but the last entry ends at 36865");
    // Rounded up to the block: still wrong, nothing may follow the last byte.
    put(block, kTotalAt, 36864 + 4096, 8);
    EXPECT_REFUSED(parse(block, 36864 + 4096), ErrorCode::parse, "the last entry ends at 36865");
    put(block, kTotalAt, kMax, 8);
    EXPECT_REFUSED(parse(block, kMax), ErrorCode::parse, "the last entry ends at 36865");

    EXPECT_REFUSED(parse(standard_block(), kStandardTotal - 1), ErrorCode::parse, "truncated");
    EXPECT_REFUSED(parse(standard_block(), 4096), ErrorCode::parse, "truncated");
    EXPECT_REFUSED(parse(standard_block(), kStandardTotal + 1), ErrorCode::parse, "data after the last entry");
    EXPECT_REFUSED(parse(standard_block(), kMax), ErrorCode::parse, "data after the last entry");
}

TEST(BundleHeader, AMediumMayBeLargerThanItsBundleButNotSmaller) {
    for (const std::uint64_t size : {kStandardTotal, kStandardTotal + 1, std::uint64_t{36864 + 4096}, kMax}) {
        auto layout = parse_header(standard_block(), size, Carrier::medium);
        ASSERT_TRUE(layout) << size << ": " << layout.error().message;
        EXPECT_EQ(layout->total_size, kStandardTotal);
    }
    EXPECT_REFUSED(parse_header(standard_block(), kStandardTotal - 1, Carrier::medium), ErrorCode::parse, "truncated");
    // The header itself is as strict as in a file.
    std::string block = standard_block();
    put(block, kTotalAt, 36864 + 4096, 8);
    EXPECT_REFUSED(parse_header(block, kMax, Carrier::medium), ErrorCode::parse, "the last entry ends at 36865");
}

TEST(BundleHeader, RefusesNonzeroBytesAfterTheEntries) {
    std::string block = standard_block();
    block[4095] = 1;
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "nonzero byte at offset 4095");
    block = standard_block();
    block[type_at(8)] = '\x80';  // right after the eighth entry
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "nonzero byte at offset 216");
}

TEST(BundleHeader, EnforcesSizeCaps) {
    struct Cap {
        std::size_t index;
        EntryType type;
        std::uint64_t cap;
    };
    for (const Cap& c :
         {Cap{0, EntryType::root, kMiB}, Cap{2, EntryType::timestamp, kMiB}, Cap{3, EntryType::snapshot, kMiB},
          Cap{4, EntryType::targets, kMiB}, Cap{5, EntryType::uki, 512 * kMiB}, Cap{6, EntryType::verity, 2048 * kMiB},
          Cap{7, EntryType::root_image, 16384 * kMiB}}) {
        auto entries = standard_entries();
        entries[c.index].second = c.cap;
        const Layout at_cap = place(entries);
        auto accepted = parse_header(encode_header(at_cap), at_cap.total_size);
        EXPECT_TRUE(accepted) << entry_type_name(c.type) << ": " << accepted.error().message;

        entries[c.index].second = c.cap + 1;
        const Layout over = place(entries);
        const std::string fragment = "entry " + std::to_string(c.index) + " (" + std::string(entry_type_name(c.type)) +
                                     ") is " + std::to_string(c.cap + 1) + " bytes, over the cap";
        EXPECT_REFUSED(parse_header(encode_header(over), over.total_size), ErrorCode::too_large, fragment);
    }
}

TEST(BundleHeader, RefusesValuesNear2To64) {
    std::string block = standard_block();
    put(block, offset_at(7), kMax - 4095, 8);  // aligned, so only the placement rule can catch it
    put(block, kTotalAt, kMax, 8);
    EXPECT_REFUSED(parse(block, kMax), ErrorCode::parse, "starts at 18446744073709547520");
    block = standard_block();
    put(block, length_at(7), kMax, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::too_large, "over the cap");
    block = standard_block();
    put(block, length_at(0), kMax - 4095, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::too_large, "over the cap");
    block = standard_block();
    put(block, offset_at(1), kMax, 8);
    EXPECT_REFUSED(parse(block), ErrorCode::parse, "not a multiple of 4096");

    // check_layout on its own, given what no header could pass: an entry whose end overflows.
    Layout huge;
    huge.entries = {{EntryType::root, kMax - 4095, 4096}};
    EXPECT_REFUSED(check_layout(huge), ErrorCode::parse, "a gap");
}

TEST(BundleFile, RoundTripsEntriesAtTheirOffsets) {
    const TempDir dir;
    const std::vector<Payload> payloads = sample_payloads();
    const std::string out = write_sample(dir);
    const std::string raw = testing::read_whole_file(out);

    auto bundle = Bundle::open(out);
    ASSERT_TRUE(bundle) << bundle.error().message;
    const Layout& layout = bundle->layout();
    // Roots of 24 bytes at 4096 and 8192; 1 at 12288; 4095 at 16384; 4096 at 20480 (no padding
    // after it); 4097 at 24576 (padded to 32768); 8192 at 32768; the root image at 40960.
    const std::vector<std::uint64_t> offsets = {4096, 8192, 12288, 16384, 20480, 24576, 32768, 40960};
    ASSERT_EQ(layout.entries.size(), payloads.size());
    EXPECT_EQ(layout.total_size, 40960 + 3 * kMiB + 5);
    EXPECT_EQ(raw.size(), layout.total_size);
    EXPECT_EQ(raw.substr(0, 4096), encode_header(layout));
    std::uint64_t previous_end = 4096;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const Entry& entry = layout.entries[i];
        EXPECT_EQ(entry.type, payloads[i].type) << i;
        EXPECT_EQ(entry.offset, offsets[i]) << i;
        EXPECT_EQ(entry.length, payloads[i].contents.size()) << i;
        EXPECT_EQ(raw.substr(entry.offset, entry.length), payloads[i].contents) << i;
        EXPECT_EQ(raw.substr(previous_end, entry.offset - previous_end).find_first_not_of('\0'), std::string::npos)
            << "padding before entry " << i;
        previous_end = entry.offset + entry.length;

        std::string streamed;
        auto copied = bundle->copy_entry(entry, -1, [&streamed](std::string_view chunk) -> Result<void> {
            streamed.append(chunk);
            return {};
        });
        ASSERT_TRUE(copied) << copied.error().message;
        EXPECT_EQ(streamed, payloads[i].contents) << i;
        if (entry.length <= kMiB) {
            auto read = bundle->read_entry(entry);
            ASSERT_TRUE(read) << read.error().message;
            EXPECT_EQ(*read, payloads[i].contents) << i;
        }
    }
    EXPECT_EQ(bundle->layout().roots().at(1).offset, 8192U);
    EXPECT_EQ(std::filesystem::status(out).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                  std::filesystem::perms::group_read | std::filesystem::perms::others_read);
}

TEST(BundleFile, StreamsLargeEntriesInChunks) {
    const TempDir dir;
    auto bundle = Bundle::open(write_sample(dir));
    ASSERT_TRUE(bundle) << bundle.error().message;
    auto image = bundle->layout().find(EntryType::root_image);
    ASSERT_TRUE(image);
    EXPECT_REFUSED(bundle->read_entry(*image), ErrorCode::too_large, "stream it");

    const std::string copy = (dir.path() / "root.erofs.copy").string();
    const UniqueFd out(::open(copy.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    ASSERT_TRUE(out.valid());
    std::vector<std::size_t> sizes;
    auto copied = bundle->copy_entry(*image, out.get(), [&sizes](std::string_view chunk) -> Result<void> {
        sizes.push_back(chunk.size());
        return {};
    });
    ASSERT_TRUE(copied) << copied.error().message;
    EXPECT_EQ(sizes, (std::vector<std::size_t>{kMiB, kMiB, kMiB, 5}));
    EXPECT_EQ(testing::read_whole_file(copy), sample_payloads().back().contents);

    // The observer's refusal stops the copy and is what the caller gets.
    int calls = 0;
    auto stopped = bundle->copy_entry(*image, -1, [&calls](std::string_view) -> Result<void> {
        ++calls;
        return fail(ErrorCode::integrity, "hash mismatch");
    });
    EXPECT_REFUSED(stopped, ErrorCode::integrity, "hash mismatch");
    EXPECT_EQ(calls, 1);

    // Only the bundle's own entries are read.
    Entry forged = *image;
    forged.offset = 0;
    EXPECT_REFUSED(bundle->read_entry(Entry{EntryType::root, 0, 4096}), ErrorCode::invalid_argument, "not one of");
    EXPECT_REFUSED(bundle->copy_entry(forged, -1, {}), ErrorCode::invalid_argument, "not one of");
}

TEST(BundleFile, RefusesNonzeroPadding) {
    const TempDir dir;
    const std::string out = write_sample(dir);
    ASSERT_TRUE(Bundle::open(out));
    {
        const UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CLOEXEC));
        ASSERT_TRUE(fd.valid());
        // The uki's 4097 bytes at 24576 end at 28673; the last padding byte before 32768.
        ASSERT_EQ(::pwrite(fd.get(), "x", 1, 32767), 1);
    }
    EXPECT_REFUSED(Bundle::open(out), ErrorCode::parse, "nonzero padding byte at offset 32767 after entry 5 (uki)");
}

TEST(BundleFile, RefusesTruncatedFilesAndNonFiles) {
    const TempDir dir;
    const std::string out = write_sample(dir);
    const auto size = std::filesystem::file_size(out);
    ASSERT_EQ(::truncate(out.c_str(), static_cast<off_t>(size - 1)), 0);
    EXPECT_REFUSED(Bundle::open(out), ErrorCode::parse, "truncated");
    ASSERT_EQ(::truncate(out.c_str(), 4095), 0);
    EXPECT_REFUSED(Bundle::open(out), ErrorCode::parse, "truncated");
    ASSERT_EQ(::truncate(out.c_str(), 0), 0);
    EXPECT_REFUSED(Bundle::open(out), ErrorCode::parse, "truncated");

    const std::string link = (dir.path() / "link.bundle").string();
    const std::string other = (dir.path() / "other.bundle").string();
    ASSERT_TRUE(write_bundle(write_inputs(dir, sample_payloads()), other));
    std::filesystem::create_symlink(other, link);
    EXPECT_REFUSED(Bundle::open(link), ErrorCode::invalid_argument, "is a symbolic link");
    EXPECT_REFUSED(Bundle::open(dir.str()), ErrorCode::invalid_argument, "neither a regular file nor a block device");
    const std::string fifo = (dir.path() / "fifo").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_REFUSED(Bundle::open(fifo), ErrorCode::invalid_argument, "neither a regular file nor a block device");
    EXPECT_REFUSED(Bundle::open("/dev/null"), ErrorCode::invalid_argument, "neither a regular file nor a block device");
}

// A whole disk the bundle was written onto (a loop device over a file standing in for a USB
// stick): read as the bundle, what follows it on the disk is never looked at; a disk too small
// for the bundle is refused as truncated.
TEST(BundleFile, ReadsABundleWrittenRawOntoADisk) {
    if (::access("/dev/loop-control", W_OK) != 0) GTEST_SKIP() << "no loop devices on this machine";
    const TempDir dir;
    const std::string out = write_sample(dir);
    std::string disk = testing::read_whole_file(out);
    const std::size_t bundle_bytes = disk.size();
    disk.resize((bundle_bytes / 512 + 8) * 512, '\x5a');  // whatever was on the stick before
    const std::string image = dir.write("stick.img", disk).string();
    struct Loop {
        std::string device;
        ~Loop() {
            if (!device.empty()) (void)testing::run_process({"/usr/sbin/losetup", "-d", device});
        }
    } loop;
    auto attached = testing::run_process({"/usr/sbin/losetup", "--show", "-f", "-r", image});
    ASSERT_EQ(attached.exit_code, 0) << attached.err;
    loop.device = attached.out.substr(0, attached.out.find('\n'));

    auto bundle = Bundle::open(loop.device);
    ASSERT_TRUE(bundle) << bundle.error().message;
    EXPECT_EQ(bundle->layout().total_size, bundle_bytes);
    const std::vector<Payload> payloads = sample_payloads();
    ASSERT_EQ(bundle->layout().entries.size(), payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        std::string streamed;
        ASSERT_TRUE(bundle->copy_entry(bundle->layout().entries[i], -1, [&streamed](std::string_view chunk) {
            streamed.append(chunk);
            return Result<void>{};
        }));
        EXPECT_EQ(streamed, payloads[i].contents) << i;
    }

    // The same bundle on a disk that ends before it does.
    const std::string short_image = dir.write("short.img", disk.substr(0, (bundle_bytes / 512) * 512)).string();
    Loop short_loop;
    auto short_attached = testing::run_process({"/usr/sbin/losetup", "--show", "-f", "-r", short_image});
    ASSERT_EQ(short_attached.exit_code, 0) << short_attached.err;
    short_loop.device = short_attached.out.substr(0, short_attached.out.find('\n'));
    EXPECT_REFUSED(Bundle::open(short_loop.device), ErrorCode::parse, "truncated");
}

TEST(BundleFile, CopyNoticesATruncationAfterOpen) {
    const TempDir dir;
    const std::string out = write_sample(dir);
    auto bundle = Bundle::open(out);
    ASSERT_TRUE(bundle) << bundle.error().message;
    auto image = bundle->layout().find(EntryType::root_image);
    ASSERT_TRUE(image);
    ASSERT_EQ(::truncate(out.c_str(), static_cast<off_t>(image->offset + kMiB + 10)), 0);
    std::size_t seen = 0;
    auto copied = bundle->copy_entry(*image, -1, [&seen](std::string_view chunk) -> Result<void> {
        seen += chunk.size();
        return {};
    });
    EXPECT_REFUSED(copied, ErrorCode::io, "changed or is truncated");
    EXPECT_EQ(seen, kMiB);  // the first whole chunk only

    auto verity = bundle->layout().find(EntryType::verity);
    ASSERT_TRUE(verity);
    ASSERT_EQ(::truncate(out.c_str(), static_cast<off_t>(verity->offset + 1)), 0);
    EXPECT_REFUSED(bundle->read_entry(*verity), ErrorCode::io, "changed or is truncated");
}

// The writer refuses before creating anything, and never leaves its temporary file behind.
class BundleWriter : public ::testing::Test {
protected:
    void expect_refused(const std::vector<Input>& inputs, ErrorCode code, const std::string& fragment) {
        const std::set<std::string> before = names_in(dir_.path());
        EXPECT_REFUSED(write_bundle(inputs, out_), code, fragment);
        EXPECT_EQ(names_in(dir_.path()), before) << fragment;
    }

    TempDir dir_;
    std::string out_ = (dir_.path() / "update.bundle").string();
};

TEST_F(BundleWriter, RefusesInputsThatBreakTheRules) {
    std::vector<Input> inputs = write_inputs(dir_, sample_payloads());
    std::vector<Input> bad = inputs;
    std::swap(bad[4], bad[5]);
    expect_refused(bad, ErrorCode::parse, "entry 5 (targets) comes after a uki entry");
    bad = inputs;
    bad.erase(bad.begin() + 4);
    expect_refused(bad, ErrorCode::parse, "no targets entry");
    bad = inputs;
    bad.insert(bad.begin() + 5, bad[5]);
    expect_refused(bad, ErrorCode::parse, "entry 6 is a second uki entry");
    bad = inputs;
    bad.insert(bad.begin(), 31, bad[0]);
    expect_refused(bad, ErrorCode::parse, "more than 32 root entries");
    expect_refused({}, ErrorCode::parse, "no entries");
    bad = inputs;
    bad[2].type = static_cast<EntryType>(10);
    expect_refused(bad, ErrorCode::parse, "unknown type 10");

    bad = inputs;
    bad[2].path = dir_.write("in/empty.json", "").string();
    expect_refused(bad, ErrorCode::invalid_argument, "is empty");
    bad[2].path = (dir_.path() / "in/missing.json").string();
    expect_refused(bad, ErrorCode::not_found, "missing.json");
    bad[2].path = (dir_.path() / "in").string();
    expect_refused(bad, ErrorCode::invalid_argument, "not a regular file");

    // Over the caps, as sparse files.
    const std::string big = (dir_.path() / "in/big").string();
    ASSERT_EQ(::truncate(dir_.write("in/big", "").c_str(), static_cast<off_t>(kMiB + 1)), 0);
    bad = inputs;
    bad[3].path = big;
    expect_refused(bad, ErrorCode::too_large, "snapshot input");
    ASSERT_EQ(::truncate(big.c_str(), static_cast<off_t>(16384 * kMiB + 1)), 0);
    bad = inputs;
    bad[7].path = big;
    expect_refused(bad, ErrorCode::too_large, "root_image input");

    EXPECT_FALSE(std::filesystem::exists(out_));
    ASSERT_TRUE(write_bundle(inputs, out_));  // the same directory, with the good inputs
    EXPECT_TRUE(Bundle::open(out_));
}

TEST_F(BundleWriter, RefusesAnExistingOutput) {
    const std::vector<Input> inputs = write_inputs(dir_, sample_payloads());
    dir_.write("update.bundle", "old contents");
    expect_refused(inputs, ErrorCode::invalid_argument, "already exists");
    EXPECT_EQ(testing::read_whole_file(out_), "old contents");

    std::filesystem::remove(out_);
    std::filesystem::create_symlink(dir_.path() / "nowhere", out_);
    expect_refused(inputs, ErrorCode::invalid_argument, "already exists");
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "nowhere"));

    EXPECT_REFUSED(write_bundle(inputs, (dir_.path() / "no/such/dir/update.bundle").string()), ErrorCode::not_found,
                   "temporary file");
}

// A sysfs attribute claims 4096 bytes but reads as fewer: an input that changes size between
// being measured and being copied, after the temporary file exists.
TEST_F(BundleWriter, RefusesAnInputThatShrinksAndRemovesItsTemporaryFile) {
    const std::string shrinking = "/sys/kernel/mm/transparent_hugepage/enabled";
    std::error_code error;
    if (std::filesystem::file_size(shrinking, error) != 4096 || testing::read_whole_file(shrinking).size() >= 4096) {
        GTEST_SKIP() << shrinking << " does not misreport its size here";
    }
    std::vector<Input> inputs = write_inputs(dir_, sample_payloads());
    inputs[6].path = shrinking;
    expect_refused(inputs, ErrorCode::io, "shrank while being copied");
}

}  // namespace
}  // namespace bulkhead::bundle
