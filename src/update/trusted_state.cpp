#include "update/trusted_state.hpp"

#include <sys/random.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <map>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "tuf/metadata.hpp"
#include "update/release_files.hpp"

namespace bulkhead::update {

namespace {

constexpr std::size_t kMaxFiles = 256;
constexpr std::size_t kMaxMetadataBytes = std::size_t{1} << 20;
constexpr std::string_view kRootSuffix = ".root.json";
constexpr std::string_view kTemporaryPrefix = ".partial-";

std::string on_esp(std::string_view name) { return concat({kTrustedStateDir, "/", name}); }

// A positive decimal version without leading zeros.
std::optional<std::int64_t> version_of(std::string_view digits) {
    std::int64_t value = 0;
    const char* end = digits.data() + digits.size();
    const auto [stop, problem] = std::from_chars(digits.data(), end, value);
    if (digits.empty() || digits.front() == '0' || problem != std::errc{} || stop != end || value < 1) {
        return std::nullopt;
    }
    return value;
}

struct Listing {
    std::map<std::int64_t, std::string> roots, timestamps, snapshots;  // version -> file name
    std::vector<std::string> temporary;
};

// Our files in the state directory, by kind and version; everything else there is not ours to
// read or delete. An unreadable directory, or one with more of our names than any real state
// has, lists as empty: the state is only a baseline.
Listing list_state(const boot::Esp& esp) {
    Listing listing;
    auto names = esp.list(kTrustedStateDir);
    if (!names) return listing;
    std::size_t ours = 0;
    for (const std::string& name : *names) {
        const auto parsed = parse_state_file_name(name);
        if (!parsed) continue;
        ++ours;
        switch (parsed->kind) {
            case StateFileName::Kind::temporary: listing.temporary.push_back(name); break;
            case StateFileName::Kind::root: listing.roots.emplace(parsed->version, name); break;
            case StateFileName::Kind::timestamp: listing.timestamps.emplace(parsed->version, name); break;
            case StateFileName::Kind::snapshot: listing.snapshots.emplace(parsed->version, name); break;
        }
    }
    if (ours > kMaxFiles) return Listing{};
    return listing;
}

Result<std::string> read_from_esp(const boot::Esp& esp, const ScratchDir& scratch, const std::string& name) {
    const std::string local = scratch.file("read-" + name);
    std::error_code ignored;
    std::filesystem::remove(local, ignored);  // a name read before
    if (auto got = esp.get(on_esp(name), local); !got) return fail(got.error());
    return read_file_bounded(local, kMaxMetadataBytes);
}

// A temporary name no earlier attempt can have left behind.
Result<std::string> temporary_name(const std::string& name) {
    std::array<unsigned char, 8> random{};
    if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
        return fail(Error::from_errno(errno, "reading random bytes"));
    }
    return concat({kTemporaryPrefix,
                   hex_encode(std::string_view(reinterpret_cast<const char*>(random.data()), random.size())), "-",
                   name});
}

// `name` on the ESP with `contents`: written under a temporary name first; then the file it
// replaces (`replacing`, when there is one) goes, and the new one takes its name, so the old
// file stays until a complete new one exists.
Result<void> place(const boot::Esp& esp, const ScratchDir& scratch, const std::string& name,
                   const std::string& contents, bool replacing) {
    auto temporary = temporary_name(name);
    if (!temporary) return fail(temporary.error());
    const std::string local = scratch.file("put-" + name);
    if (auto written = write_file_atomically(local, contents, 0600, false); !written) return written;
    if (auto put = esp.put(local, on_esp(*temporary)); !put) return put;
    if (replacing) {
        if (auto removed = esp.remove(on_esp(name)); !removed) {
            (void)esp.remove(on_esp(*temporary));
            return removed;
        }
    }
    return esp.rename(on_esp(*temporary), name);
}

template <class Parsed>
Result<std::int64_t> metadata_version(const Parsed& parsed, const std::string& what) {
    if (!parsed) return fail(ErrorCode::parse, concat({what, ": ", parsed.error().message}));
    return parsed->signed_part.common.version;
}

}  // namespace

std::optional<StateFileName> parse_state_file_name(std::string_view name) {
    using Kind = StateFileName::Kind;
    if (name.starts_with(kTemporaryPrefix)) return StateFileName{Kind::temporary, 0};
    std::optional<std::int64_t> version;
    Kind kind = Kind::root;
    if (name.ends_with(kRootSuffix)) {
        version = version_of(name.substr(0, name.size() - kRootSuffix.size()));
    } else {
        for (const auto& [prefix, candidate] : {std::pair{std::string_view("timestamp-"), Kind::timestamp},
                                                std::pair{std::string_view("snapshot-"), Kind::snapshot}}) {
            if (name.starts_with(prefix) && name.ends_with(".json") && name.size() > prefix.size() + 5) {
                version = version_of(name.substr(prefix.size(), name.size() - prefix.size() - 5));
                kind = candidate;
            }
        }
    }
    if (!version) return std::nullopt;
    return StateFileName{kind, *version};
}

Result<TrustedState> load_trusted_state(const boot::Esp& esp) {
    const Listing listing = list_state(esp);
    TrustedState state;
    if (listing.roots.empty() && listing.timestamps.empty() && listing.snapshots.empty()) return state;
    auto scratch = ScratchDir::make();
    if (!scratch) return fail(scratch.error());
    // A file whose contents are not the metadata and version its name promises is left out: the
    // state is only a baseline, verify_bundle checks everything again, and the next save
    // replaces it. Refusing instead would leave a core that can never be updated.
    auto read = [&](const std::string& name, std::int64_t version, auto parse) -> std::optional<std::string> {
        auto bytes = read_from_esp(esp, *scratch, name);
        if (!bytes) return std::nullopt;
        auto parsed = parse(*bytes);
        if (!parsed || parsed->signed_part.common.version != version) return std::nullopt;
        return std::move(*bytes);
    };
    for (const auto& [version, name] : listing.roots) {
        auto bytes = read(name, version, tuf::parse_root);
        if (!bytes) break;  // the chain ends where it cannot be followed
        state.roots.push_back(std::move(*bytes));
    }
    // A crash between placing a new file and deleting the old one leaves both: the newest counts.
    for (auto it = listing.timestamps.rbegin(); it != listing.timestamps.rend() && !state.timestamp; ++it) {
        state.timestamp = read(it->second, it->first, tuf::parse_timestamp);
    }
    for (auto it = listing.snapshots.rbegin(); it != listing.snapshots.rend() && !state.snapshot; ++it) {
        state.snapshot = read(it->second, it->first, tuf::parse_snapshot);
    }
    return state;
}

Result<void> save_trusted_state(const boot::Esp& esp, const TrustedState& state) {
    if (auto top = esp.list("bulkhead"); !top) {
        if (top.error().code != ErrorCode::not_found) return fail(top.error());
        if (auto made = esp.make_dirs({"bulkhead"}); !made) return made;
    }
    if (auto existing = esp.list(kTrustedStateDir); !existing) {
        if (existing.error().code != ErrorCode::not_found) return fail(existing.error());
        if (auto made = esp.make_dirs({kTrustedStateDir}); !made) return made;
    }
    const Listing listing = list_state(esp);
    auto scratch = ScratchDir::make();
    if (!scratch) return fail(scratch.error());
    // What a crash left half-placed is never read; it goes when it can (clean-up never stops a save).
    for (const std::string& leftover : listing.temporary) (void)esp.remove(on_esp(leftover));

    // `name` holding `contents`: kept when it does, replaced when it holds something else, left
    // alone when it cannot be read (a failed read is no reason to give up a baseline file).
    auto keep = [&](const std::map<std::int64_t, std::string>& existing, std::int64_t version, const std::string& name,
                    const std::string& contents) -> Result<void> {
        const auto kept = existing.find(version);
        if (kept == existing.end()) return place(esp, *scratch, name, contents, false);
        auto bytes = read_from_esp(esp, *scratch, kept->second);
        if (!bytes || *bytes == contents) return {};
        return place(esp, *scratch, kept->second, contents, true);
    };
    for (const std::string& root : state.roots) {
        auto version = metadata_version(tuf::parse_root(root), "a root to keep");
        if (!version) return fail(version.error());
        if (auto kept = keep(listing.roots, *version, concat({std::to_string(*version), kRootSuffix}), root); !kept) {
            return kept;
        }
    }
    for (const auto& [bytes, prefix, existing] : {std::tuple{&state.timestamp, "timestamp-", &listing.timestamps},
                                                  std::tuple{&state.snapshot, "snapshot-", &listing.snapshots}}) {
        if (!bytes->has_value()) continue;
        auto version = std::string_view(prefix) == "timestamp-"
                           ? metadata_version(tuf::parse_timestamp(**bytes), "the timestamp to keep")
                           : metadata_version(tuf::parse_snapshot(**bytes), "the snapshot to keep");
        if (!version) return fail(version.error());
        if (auto kept = keep(*existing, *version, concat({prefix, std::to_string(*version), ".json"}), **bytes);
            !kept) {
            return kept;
        }
        // The versions it replaces go once it is in place, when they can.
        for (const auto& [old_version, old_name] : *existing) {
            if (old_version != *version) (void)esp.remove(on_esp(old_name));
        }
    }
    return {};
}

}  // namespace bulkhead::update
