// Repository::publish: threshold checks, new snapshot and timestamp, and the atomic swap of
// the published tree.
#include <sys/stat.h>

#include <algorithm>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "json/canonical.hpp"
#include "tuf/delegation.hpp"
#include "tuf/verify.hpp"
#include "tuf_repo/names.hpp"
#include "tuf_repo/repository.hpp"
#include "tuf_repo/repository_detail.hpp"

namespace bulkhead::tuf_repo {

namespace {

// Signs `signed_part` with online keys, each of which must be one of the role's keys, and
// checks the role's threshold is met the way a client checks it.
Result<std::string> sign_online(std::string_view role_name, const json::Value& signed_part,
                                const std::vector<const SigningKey*>& signing_keys, const tuf::Root& root,
                                const tuf::RoleKeys& role) {
    auto message = json::canonical(signed_part);
    if (!message) return fail(message.error());
    Envelope envelope{signed_part, {}};
    for (const SigningKey* key : signing_keys) {
        if (std::find(role.keyids.begin(), role.keyids.end(), key->identity.keyid) == role.keyids.end()) {
            return fail(ErrorCode::permission_denied,
                        "key " + key->identity.keyid + " is not authorised to sign " + std::string(role_name));
        }
        if (auto signed_ok = sign(envelope, *key); !signed_ok) return fail(signed_ok.error());
    }
    if (auto met = tuf::verify_threshold(role_name, *message, envelope.signatures, root.keys, role); !met) {
        return fail(ErrorCode::not_signed, std::string(role_name) + " needs " + std::to_string(role.threshold) +
                                               " valid signatures from its keys: " + met.error().message);
    }
    return write_envelope(envelope);
}

}  // namespace

Result<std::optional<tuf::Targets>> Repository::read_published_targets(const std::string& name) const {
    const std::int64_t version = published_version_of(name);
    if (version == 0) return std::optional<tuf::Targets>();
    auto bytes = read_file_bounded(published_file(name, version), detail::kMaxMetadataBytes);
    if (!bytes) return fail(bytes.error());
    auto parsed = tuf::parse_targets(*bytes);
    if (!parsed) return fail(ErrorCode::parse, published_file(name, version) + ": " + parsed.error().message);
    return std::optional<tuf::Targets>(std::move(parsed->signed_part));
}

Result<PublishResult> Repository::publish(const std::vector<const SigningKey*>& snapshot_keys,
                                          const std::vector<const SigningKey*>& timestamp_keys) {
    // Every staged role, in a fixed order: root first, so the others are checked against it.
    std::set<std::string> staged_names(staged_files_.begin(), staged_files_.end());
    for (const auto& [name, role] : roles_) {
        if (role.staged) staged_names.insert(name);
    }
    std::vector<std::string> staged;
    for (const std::string& name : staged_names) {
        auto role = load(name);
        if (!role) return fail(role.error());
        if ((*role)->staged) staged.push_back(name);
    }
    std::stable_partition(staged.begin(), staged.end(), [](const std::string& name) { return name == "root"; });

    // Root and top-level targets serve every client: publishing while either has expired would
    // only produce a repository every client refuses.
    for (const std::string top : {"root", "targets"}) {
        auto role = load(top);
        if (!role) return fail(role.error());
        if ((*role)->common().expires <= now_ && !(*role)->staged) {
            return fail(ErrorCode::expired,
                        concat({"the published ", top, " expired at ", tuf::format_expires((*role)->common().expires),
                                "; renew it (`repo renew --role ", top, "`) and sign it"}));
        }
    }
    for (const std::string& name : staged) {
        Role& role = roles_.at(name);
        if (role.common().expires <= now_) {
            return fail(ErrorCode::expired, "staged " + name + " expired at " +
                                                tuf::format_expires(role.common().expires) +
                                                "; renew it (`repo renew`) and sign it again");
        }
        if (auto met = check_meets_threshold(name); !met) return fail(met.error());
    }
    // A role whose keys changed in a staged delegator must already verify with the new keys.
    std::set<std::string> checked(staged.begin(), staged.end());
    for (const std::string& name : staged) {
        std::vector<std::string> children;
        Role& role = roles_.at(name);
        if (role.root) {
            if (published_root_ && published_root_->targets.keyids == role.root->targets.keyids &&
                published_root_->targets.threshold == role.root->targets.threshold) {
                continue;
            }
            children.emplace_back("targets");
        } else if (role.targets->delegations && role.targets->delegations->succinct == std::nullopt) {
            auto published = read_published_targets(name);
            if (!published) return fail(published.error());
            for (const tuf::DelegatedRole& child : role.targets->delegations->roles) {
                bool unchanged = false;
                if (*published && (*published)->delegations) {
                    for (const tuf::DelegatedRole& old : (*published)->delegations->roles) {
                        if (old.name != child.name) continue;
                        unchanged = old.keys.keyids == child.keys.keyids && old.keys.threshold == child.keys.threshold;
                        for (const std::string& keyid : child.keys.keyids) {
                            const auto before = (*published)->delegations->keys.find(keyid);
                            const auto after = role.targets->delegations->keys.find(keyid);
                            unchanged = unchanged && before != (*published)->delegations->keys.end() &&
                                        before->second.public_value == after->second.public_value;
                        }
                    }
                }
                if (!unchanged) children.push_back(child.name);
            }
        } else if (role.targets->delegations) {
            auto published = read_published_targets(name);
            if (!published) return fail(published.error());
            const bool unchanged =
                *published && (*published)->delegations && (*published)->delegations->succinct &&
                (*published)->delegations->succinct->keys.keyids == role.targets->delegations->succinct->keys.keyids;
            if (!unchanged) {
                const tuf::SuccinctRoles& bins = *role.targets->delegations->succinct;
                for (std::uint64_t index = 0; index < (std::uint64_t{1} << bins.bit_length); ++index) {
                    children.push_back(tuf::succinct_bin_name(bins, static_cast<std::uint32_t>(index)));
                }
            }
        }
        for (const std::string& child : children) {
            if (!checked.insert(child).second) continue;
            if (auto met = check_meets_threshold(child); !met) {
                return fail(ErrorCode::not_signed,
                            concat({met.error().message, " (its keys changed in ", name,
                                    "; stage it with `repo renew --role ", child, "` and sign it)"}));
            }
        }
    }

    if (auto written = write_pending_blobs(); !written) return fail(written.error());

    // The new snapshot and timestamp.
    auto root_role = load("root");
    if (!root_role) return fail(root_role.error());
    const tuf::Root& root = *(*root_role)->root;
    std::map<std::string, std::string> new_files;  // path below published/ -> bytes
    PublishResult result;
    std::map<std::string, tuf::MetaFile> meta;
    if (published_snapshot_) meta.insert(published_snapshot_->meta.begin(), published_snapshot_->meta.end());
    for (const std::string& name : staged) {
        Role& role = roles_.at(name);
        auto bytes = serialise(role);
        if (!bytes) return fail(bytes.error());
        const std::int64_t version = role.common().version;
        if (role.targets) meta[name + ".json"] = describe_metadata(version, *bytes);
        new_files.emplace("metadata/" + std::to_string(version) + "." + name + ".json", std::move(*bytes));
        result.roles.emplace_back(name, version);
    }
    const std::int64_t snapshot_policy = config_.expiry.snapshot * 86400;
    const bool snapshot_due =
        !published_snapshot_ || !staged.empty() || (published_snapshot_->common.expires - now_) * 2 < snapshot_policy;
    tuf::MetaFile snapshot_meta;
    if (snapshot_due) {
        if (snapshot_keys.empty()) {
            return fail(ErrorCode::invalid_argument, "this publish makes a new snapshot: give the snapshot key");
        }
        result.snapshot_version = published_snapshot_ ? published_snapshot_->common.version + 1 : 1;
        auto snapshot = sign_online("snapshot", build_snapshot(result.snapshot_version, now_ + snapshot_policy, meta),
                                    snapshot_keys, root, root.snapshot);
        if (!snapshot) return fail(snapshot.error());
        snapshot_meta = describe_metadata(result.snapshot_version, *snapshot);
        new_files.emplace("metadata/" + std::to_string(result.snapshot_version) + ".snapshot.json",
                          std::move(*snapshot));
    } else {
        result.snapshot_version = published_snapshot_->common.version;
        snapshot_meta = published_timestamp_->snapshot_meta;
    }
    if (timestamp_keys.empty()) return fail(ErrorCode::invalid_argument, "publishing needs the timestamp key");
    result.timestamp_version = published_timestamp_ ? published_timestamp_->common.version + 1 : 1;
    auto timestamp = sign_online(
        "timestamp", build_timestamp(result.timestamp_version, now_ + config_.expiry.timestamp * 86400, snapshot_meta),
        timestamp_keys, root, root.timestamp);
    if (!timestamp) return fail(timestamp.error());
    new_files.emplace("metadata/timestamp.json", std::move(*timestamp));

    // The new tree, beside the old one: unchanged files are hard links, so this costs one
    // link per file and no copying. Nothing below changes what is published until swap_in.
    auto temp = make_temp_dir(dir_, ".published-");
    if (!temp) return fail(temp.error());
    auto abandon = [&temp](const Error& error) -> Result<PublishResult> {
        (void)remove_tree(*temp);
        return fail(error);
    };
    const std::string live = dir_ + "/published";
    if (published_root_) {
        if (auto linked = link_tree(live, *temp, {"metadata/timestamp.json"}); !linked) return abandon(linked.error());
    }
    for (const auto& [path, bytes] : new_files) {
        if (auto written = write_new_file(*temp + "/" + path, bytes); !written) return abandon(written.error());
    }
    for (const std::string& name : staged) {
        const Role& role = roles_.at(name);
        if (!role.targets) continue;
        for (const auto& [path, file] : role.targets->targets) {
            const std::string blob = blob_path(file.hashes.front().second);
            struct stat stored {};
            if (::stat(blob.c_str(), &stored) != 0 || stored.st_size != file.length) {
                return abandon({ErrorCode::integrity, "the stored contents of target " + path +
                                                          " are missing or damaged; add the target again"});
            }
            for (const auto& [algorithm, digest] : file.hashes) {
                if (auto linked = link_file(blob, *temp + "/targets/" + hash_prefixed_path(path, digest)); !linked) {
                    return abandon({linked.error().code, "target " + path + ": " + linked.error().message});
                }
                ++result.target_files_linked;
            }
        }
    }
    if (auto synced = sync_filesystem(dir_); !synced) return abandon(synced.error());
    auto swapped = swap_in(*temp, live);
    if (!swapped) return abandon(swapped.error());
    // Published. What follows only tidies up: staged files not above the published versions
    // are ignored from now on, even if this process dies before removing them.
    // The new tree is live: a failure from here on must not be reported as a failed publish.
    (void)sync_directory(dir_);
    if (*swapped) (void)remove_tree(*temp);

    auto empty = make_temp_dir(dir_, ".staged-");
    if (empty) {
        if (auto emptied = swap_in(*empty, dir_ + "/staged"); emptied && *emptied) (void)remove_tree(*empty);
    }
    roles_.clear();
    parents_.clear();
    staged_files_.clear();
    published_root_version_ = 0;
    published_root_.reset();
    published_snapshot_.reset();
    published_timestamp_.reset();
    if (auto reloaded = load_published_state(); !reloaded) return fail(reloaded.error());
    return result;
}

}  // namespace bulkhead::tuf_repo
