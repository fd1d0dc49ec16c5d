#include "update/trusted_state.hpp"

#include <charconv>
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

Result<Listing> list_state(const boot::Esp& esp) {
    Listing listing;
    auto names = esp.list(kTrustedStateDir);
    if (!names) {
        if (names.error().code == ErrorCode::not_found) return listing;
        return fail(names.error());
    }
    if (names->size() > kMaxFiles) {
        return fail(ErrorCode::too_large, concat({"more than 256 files in ", kTrustedStateDir, " on the ESP"}));
    }
    for (const std::string& name : *names) {
        if (name.starts_with(kTemporaryPrefix)) {
            listing.temporary.push_back(name);
            continue;
        }
        std::optional<std::int64_t> version;
        std::map<std::int64_t, std::string>* into = nullptr;
        if (name.ends_with(kRootSuffix)) {
            version = version_of(std::string_view(name).substr(0, name.size() - kRootSuffix.size()));
            into = &listing.roots;
        } else {
            for (const auto& [prefix, map] : {std::pair{std::string_view("timestamp-"), &listing.timestamps},
                                              std::pair{std::string_view("snapshot-"), &listing.snapshots}}) {
                if (name.starts_with(prefix) && name.ends_with(".json")) {
                    version = version_of(std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - 5));
                    into = map;
                }
            }
        }
        // Anything else is not ours to read or delete.
        if (version && into != nullptr) into->emplace(*version, name);
    }
    return listing;
}

Result<std::string> read_from_esp(const boot::Esp& esp, const ScratchDir& scratch, const std::string& name) {
    const std::string local = scratch.file(name);
    if (auto got = esp.get(on_esp(name), local); !got) return fail(got.error());
    return read_file_bounded(local, kMaxMetadataBytes);
}

// `name` on the ESP with `contents`, unless it is there already: put under a temporary name,
// then renamed, so the final name only ever holds a complete file.
Result<void> place(const boot::Esp& esp, const ScratchDir& scratch, const std::string& name,
                   const std::string& contents) {
    const std::string temporary = concat({kTemporaryPrefix, name});
    const std::string local = scratch.file(name);
    if (auto written = write_file_atomically(local, contents, 0600, false); !written) return written;
    if (auto put = esp.put(local, on_esp(temporary)); !put) return put;
    return esp.rename(on_esp(temporary), name);
}

template <class Parsed>
Result<std::int64_t> metadata_version(const Parsed& parsed, const std::string& what) {
    if (!parsed) return fail(ErrorCode::parse, concat({what, ": ", parsed.error().message}));
    return parsed->signed_part.common.version;
}

}  // namespace

Result<TrustedState> load_trusted_state(const boot::Esp& esp) {
    auto listing = list_state(esp);
    if (!listing) return fail(listing.error());
    TrustedState state;
    if (listing->roots.empty() && listing->timestamps.empty() && listing->snapshots.empty()) return state;
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
    for (const auto& [version, name] : listing->roots) {
        auto bytes = read(name, version, tuf::parse_root);
        if (!bytes) break;  // the chain ends where it cannot be followed
        state.roots.push_back(std::move(*bytes));
    }
    // A crash between placing a new file and deleting the old one leaves both: the newest counts.
    for (auto it = listing->timestamps.rbegin(); it != listing->timestamps.rend() && !state.timestamp; ++it) {
        state.timestamp = read(it->second, it->first, tuf::parse_timestamp);
    }
    for (auto it = listing->snapshots.rbegin(); it != listing->snapshots.rend() && !state.snapshot; ++it) {
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
    auto listing = list_state(esp);
    if (!listing) return fail(listing.error());
    // What a crash left half-placed is never read: it goes first.
    for (const std::string& leftover : listing->temporary) {
        if (auto removed = esp.remove(on_esp(leftover)); !removed) return removed;
    }
    auto scratch = ScratchDir::make();
    if (!scratch) return fail(scratch.error());
    for (const std::string& root : state.roots) {
        auto version = metadata_version(tuf::parse_root(root), "a root to keep");
        if (!version) return fail(version.error());
        if (const auto kept = listing->roots.find(*version); kept != listing->roots.end()) {
            auto bytes = read_from_esp(esp, *scratch, kept->second);
            if (bytes && *bytes == root) continue;
            if (auto removed = esp.remove(on_esp(kept->second)); !removed) return removed;  // damaged: replaced
        }
        if (auto placed = place(esp, *scratch, concat({std::to_string(*version), kRootSuffix}), root); !placed) {
            return placed;
        }
    }
    for (const auto& [bytes, prefix, existing] : {std::tuple{&state.timestamp, "timestamp-", &listing->timestamps},
                                                  std::tuple{&state.snapshot, "snapshot-", &listing->snapshots}}) {
        if (!bytes->has_value()) continue;
        auto version = std::string_view(prefix) == "timestamp-"
                           ? metadata_version(tuf::parse_timestamp(**bytes), "the timestamp to keep")
                           : metadata_version(tuf::parse_snapshot(**bytes), "the snapshot to keep");
        if (!version) return fail(version.error());
        const std::string name = concat({prefix, std::to_string(*version), ".json"});
        bool in_place = false;
        if (const auto kept = existing->find(*version); kept != existing->end()) {
            auto kept_bytes = read_from_esp(esp, *scratch, kept->second);
            in_place = kept_bytes && *kept_bytes == **bytes;
            if (!in_place) {
                if (auto removed = esp.remove(on_esp(kept->second)); !removed) return removed;
            }
        }
        if (!in_place) {
            if (auto placed = place(esp, *scratch, name, **bytes); !placed) return placed;
        }
        for (const auto& [old_version, old_name] : *existing) {
            if (old_version == *version) continue;
            if (auto removed = esp.remove(on_esp(old_name)); !removed) return removed;
        }
    }
    return {};
}

}  // namespace bulkhead::update
