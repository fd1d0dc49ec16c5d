#include "update/verify_bundle.hpp"

#include <map>

#include "base/text.hpp"
#include "tuf/trusted_set.hpp"

namespace bulkhead::update {

namespace {

Result<std::string> read_metadata(const bundle::Bundle& bundle, bundle::EntryType type) {
    auto entry = bundle.layout().find(type);
    if (!entry) return fail(entry.error());
    return bundle.read_entry(*entry);
}

// The release with the highest number among the core targets of `targets`, with its three parts.
Result<std::pair<CoreRelease, std::map<Part, tuf::TargetFile>>> newest_release(const tuf::Targets& targets) {
    std::optional<CoreRelease> newest;
    for (const auto& [path, target] : targets.targets) {
        auto core = parse_core_custom(target.custom);
        if (!core) return fail(ErrorCode::parse, concat({"target ", path, ": ", core.error().message}));
        if (!core->has_value()) continue;
        const auto& [release, part] = **core;
        if (path != core_target_path(release.release, part)) {
            return fail(ErrorCode::integrity,
                        concat({"target ", path, " describes ", core_target_path(release.release, part)}));
        }
        if (!newest || release.release > newest->release) newest = release;
    }
    if (!newest) return fail(ErrorCode::not_found, "the bundle's targets metadata lists no core release");
    std::map<Part, tuf::TargetFile> parts;
    for (const Part part : {Part::uki, Part::verity, Part::root}) {
        const std::string path = core_target_path(newest->release, part);
        const auto found = targets.targets.find(path);
        if (found == targets.targets.end()) {
            return fail(ErrorCode::not_found,
                        concat({"core release ", std::to_string(newest->release), " has no ", path}));
        }
        auto core = parse_core_custom(found->second.custom);
        if (!core || !core->has_value() || (*core)->first != *newest) {
            return fail(ErrorCode::integrity, concat({"the targets of core release ", std::to_string(newest->release),
                                                      " do not describe the same image"}));
        }
        parts.emplace(part, found->second);
    }
    const auto boot_manager = targets.targets.find(core_target_path(newest->release, Part::boot_manager));
    if (boot_manager != targets.targets.end()) {
        auto core = parse_core_custom(boot_manager->second.custom);
        if (!core || !core->has_value() || (*core)->first != *newest || (*core)->second != Part::boot_manager) {
            return fail(ErrorCode::integrity, concat({"the targets of core release ", std::to_string(newest->release),
                                                      " do not describe the same image"}));
        }
        parts.emplace(Part::boot_manager, boot_manager->second);
    }
    return std::pair{*newest, std::move(parts)};
}

Result<void> check_payload(const bundle::Bundle& bundle, bundle::EntryType type, const tuf::TargetFile& target,
                           const std::string& what, bundle::Entry& entry) {
    auto found = bundle.layout().find(type);
    if (!found) return fail(found.error());
    entry = *found;
    auto check = tuf::LengthAndHashCheck::start(target.length, target.hashes, what);
    if (!check) return fail(check.error());
    if (static_cast<std::uint64_t>(target.length) != entry.length) {
        return fail(ErrorCode::integrity,
                    concat({what, " is ", std::to_string(entry.length),
                            " bytes in the bundle, but the signed metadata says ", std::to_string(target.length)}));
    }
    auto streamed = bundle.copy_entry(entry, -1, [&check](std::string_view chunk) -> Result<void> {
        check->update(chunk);
        return {};
    });
    if (!streamed) return fail(streamed.error());
    return check->finish();
}

}  // namespace

Result<std::int64_t> peek_release(const bundle::Bundle& bundle) {
    auto bytes = read_metadata(bundle, bundle::EntryType::targets);
    if (!bytes) return fail(bytes.error());
    auto targets = tuf::parse_targets(*bytes);
    if (!targets) return fail(ErrorCode::parse, concat({"the bundle's targets: ", targets.error().message}));
    auto newest = newest_release(targets->signed_part);
    if (!newest) return fail(newest.error());
    return newest->first.release;
}

Result<VerifiedBundle> verify_bundle(const bundle::Bundle& bundle, std::string_view trusted_root, tuf::UnixSeconds now,
                                     const TrustedState& earlier) {
    auto trusted = tuf::TrustedMetadataSet::create(trusted_root, now);
    if (!trusted) return fail(trusted.error());
    VerifiedBundle verified;
    verified.newest_root = std::string(trusted_root);
    const std::int64_t image_root_version = trusted->root().common.version;
    // The roots kept from earlier bundles: each must follow from the one before (a kept root
    // that does not, on a damaged ESP, ends the walk there; the bundle's roots continue it).
    for (const std::string& kept : earlier.roots) {
        auto root = tuf::parse_root(kept);
        if (!root || root->signed_part.common.version <= trusted->root().common.version) continue;
        if (!trusted->update_root(kept)) break;
        verified.accepted.roots.push_back(kept);
        verified.newest_root = kept;
    }
    for (const bundle::Entry& entry : bundle.layout().roots()) {
        auto bytes = bundle.read_entry(entry);
        if (!bytes) return fail(bytes.error());
        auto root = tuf::parse_root(*bytes);
        if (!root) return fail(ErrorCode::parse, concat({"a root in the bundle: ", root.error().message}));
        // Roots the core already has are skipped; the next one must be exactly one version on.
        if (root->signed_part.common.version <= trusted->root().common.version) continue;
        if (auto updated = trusted->update_root(*bytes); !updated) return fail(updated.error());
        if (root->signed_part.common.version > image_root_version) verified.accepted.roots.push_back(*bytes);
        verified.newest_root = std::move(*bytes);
    }
    verified.root_version = trusted->root().common.version;
    // The kept timestamp is the rollback baseline even when it has expired (the set keeps it);
    // one that no longer verifies under the newest root is no baseline.
    if (earlier.timestamp) (void)trusted->update_timestamp(*earlier.timestamp);
    auto timestamp = read_metadata(bundle, bundle::EntryType::timestamp);
    if (!timestamp) return fail(timestamp.error());
    auto timestamp_update = trusted->update_timestamp(*timestamp);
    if (!timestamp_update) return fail(timestamp_update.error());
    verified.accepted.timestamp =
        *timestamp_update == tuf::TimestampUpdate::unchanged && earlier.timestamp ? *earlier.timestamp : *timestamp;
    if (earlier.snapshot) (void)trusted->update_snapshot(*earlier.snapshot, true);
    auto snapshot = read_metadata(bundle, bundle::EntryType::snapshot);
    if (!snapshot) return fail(snapshot.error());
    if (auto updated = trusted->update_snapshot(*snapshot); !updated) return fail(updated.error());
    verified.accepted.snapshot = *snapshot;
    auto targets_bytes = read_metadata(bundle, bundle::EntryType::targets);
    if (!targets_bytes) return fail(targets_bytes.error());
    if (auto updated = trusted->update_targets(*targets_bytes); !updated) return fail(updated.error());
    const tuf::Targets* targets = trusted->targets("targets");
    if (targets == nullptr) return fail(ErrorCode::internal, "the trusted targets vanished");
    verified.targets_version = targets->common.version;

    auto newest = newest_release(*targets);
    if (!newest) return fail(newest.error());
    verified.release = newest->first;
    const std::string name = concat({"core release ", std::to_string(verified.release.release), " "});
    for (auto [type, part, into] : {std::tuple{bundle::EntryType::uki, Part::uki, &verified.uki},
                                    std::tuple{bundle::EntryType::verity, Part::verity, &verified.verity},
                                    std::tuple{bundle::EntryType::root_image, Part::root, &verified.root}}) {
        into->target = newest->second.at(part);
        auto checked =
            check_payload(bundle, type, into->target, concat({name, std::string(part_name(part))}), into->entry);
        if (!checked) return fail(checked.error());
    }
    if (bundle.layout().find(bundle::EntryType::boot_manager)) {
        const auto listed = newest->second.find(Part::boot_manager);
        if (listed == newest->second.end()) {
            return fail(ErrorCode::integrity,
                        concat({"the bundle carries a boot manager that ", name, "does not list"}));
        }
        VerifiedPart part{.entry = {}, .target = listed->second};
        if (auto checked = check_payload(bundle, bundle::EntryType::boot_manager, part.target,
                                         concat({name, "boot_manager"}), part.entry);
            !checked) {
            return fail(checked.error());
        }
        verified.boot_manager = std::move(part);
    }
    return verified;
}

}  // namespace bulkhead::update
