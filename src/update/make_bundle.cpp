#include "update/make_bundle.hpp"

#include <filesystem>
#include <vector>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "bundle/bundle.hpp"
#include "tuf/metadata.hpp"

namespace bulkhead::update {

namespace {

constexpr std::size_t kMaxMetadataBytes = std::size_t{1} << 20;

std::string first_hash(const tuf::TargetFile& target) {
    for (const auto& [algorithm, digest] : target.hashes) {
        if (algorithm == "sha256") return digest;
    }
    return {};
}

}  // namespace

Result<CoreRelease> bundle_from_published(const std::string& published_dir, std::int64_t release,
                                          const std::string& out_path) {
    const std::string metadata = published_dir + "/metadata/";
    auto timestamp_bytes = read_file_bounded(metadata + "timestamp.json", kMaxMetadataBytes);
    if (!timestamp_bytes) return fail(timestamp_bytes.error());
    auto timestamp = tuf::parse_timestamp(*timestamp_bytes);
    if (!timestamp) return fail(timestamp.error());
    const std::string snapshot_name =
        concat({std::to_string(timestamp->signed_part.snapshot_meta.version), ".snapshot.json"});
    auto snapshot_bytes = read_file_bounded(metadata + snapshot_name, kMaxMetadataBytes);
    if (!snapshot_bytes) return fail(snapshot_bytes.error());
    auto snapshot = tuf::parse_snapshot(*snapshot_bytes);
    if (!snapshot) return fail(snapshot.error());
    const auto targets_meta = snapshot->signed_part.meta.find("targets.json");
    if (targets_meta == snapshot->signed_part.meta.end()) {
        return fail(ErrorCode::parse, "the published snapshot lists no targets.json");
    }
    const std::string targets_name = concat({std::to_string(targets_meta->second.version), ".targets.json"});
    auto targets_bytes = read_file_bounded(metadata + targets_name, kMaxMetadataBytes);
    if (!targets_bytes) return fail(targets_bytes.error());
    auto targets = tuf::parse_targets(*targets_bytes);
    if (!targets) return fail(targets.error());

    // The roots: the newest ones, consecutive, at most as many as a bundle holds.
    std::int64_t newest_root = 0;
    while (std::filesystem::exists(metadata + concat({std::to_string(newest_root + 1), ".root.json"}))) ++newest_root;
    if (newest_root == 0) return fail(ErrorCode::not_found, concat({"no 1.root.json in ", metadata}));
    const std::int64_t oldest_root =
        std::max<std::int64_t>(1, newest_root - static_cast<std::int64_t>(bundle::kMaxRoots) + 1);

    // The release and its three targets.
    // The newest release: a core accepts nothing else with this metadata (verify_bundle).
    std::optional<CoreRelease> chosen;
    for (const auto& [path, target] : targets->signed_part.targets) {
        auto core = parse_core_custom(target.custom);
        if (!core) return fail(ErrorCode::parse, concat({"target ", path, ": ", core.error().message}));
        if (!core->has_value()) continue;
        const CoreRelease& candidate = (*core)->first;
        if (!chosen || candidate.release > chosen->release) chosen = candidate;
    }
    if (!chosen) return fail(ErrorCode::not_found, "the published targets have no core release");
    if (release != 0 && release != chosen->release) {
        return fail(ErrorCode::invalid_argument,
                    concat({"core release ", std::to_string(release), " is not the newest published (",
                            std::to_string(chosen->release), "); cores accept only the newest"}));
    }
    std::vector<bundle::Input> inputs;
    for (std::int64_t version = oldest_root; version <= newest_root; ++version) {
        inputs.push_back({bundle::EntryType::root, metadata + concat({std::to_string(version), ".root.json"})});
    }
    inputs.push_back({bundle::EntryType::timestamp, metadata + "timestamp.json"});
    inputs.push_back({bundle::EntryType::snapshot, metadata + snapshot_name});
    inputs.push_back({bundle::EntryType::targets, metadata + targets_name});
    for (const auto& [type, part] :
         {std::pair{bundle::EntryType::uki, Part::uki}, std::pair{bundle::EntryType::verity, Part::verity},
          std::pair{bundle::EntryType::root_image, Part::root},
          std::pair{bundle::EntryType::boot_manager, Part::boot_manager}}) {
        const std::string path = core_target_path(chosen->release, part);
        const auto target = targets->signed_part.targets.find(path);
        if (target == targets->signed_part.targets.end() && part == Part::boot_manager) continue;  // optional
        if (target == targets->signed_part.targets.end()) {
            return fail(ErrorCode::not_found,
                        concat({"core release ", std::to_string(chosen->release), " has no ", path}));
        }
        const std::string digest = first_hash(target->second);
        if (digest.empty()) return fail(ErrorCode::unsupported, concat({path, " has no sha256 hash"}));
        const std::filesystem::path relative(path);
        inputs.push_back({type, concat({published_dir, "/targets/", relative.parent_path().string(), "/", digest, ".",
                                        relative.filename().string()})});
    }
    if (auto written = bundle::write_bundle(inputs, out_path); !written) return fail(written.error());
    return *chosen;
}

}  // namespace bulkhead::update
