// Repository: opening, loading roles, trust look-ups and committing staged changes. Editing
// operations are in repository_edit.cpp, signing and status in repository_sign.cpp,
// publishing in publish.cpp.
#include "tuf_repo/repository.hpp"

#include <fcntl.h>
#include <stdio.h>   // NOLINT(modernize-deprecated-headers): renameat2
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): mkostemp
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <deque>
#include <filesystem>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "json/canonical.hpp"
#include "tuf/delegation.hpp"
#include "tuf/verify.hpp"
#include "tuf_repo/model_json.hpp"
#include "tuf_repo/names.hpp"
#include "tuf_repo/repository_detail.hpp"

namespace bulkhead::tuf_repo {

namespace fs = std::filesystem;
using detail::kMaxMetadataBytes;

namespace {

constexpr std::size_t kMaxConfigBytes = 65536;

bool exists(const std::string& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0;
}

// "<N>.root.json" -> N, or 0 when the name is not one.
std::int64_t root_file_version(std::string_view name) {
    constexpr std::string_view kSuffix = ".root.json";
    if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) return 0;
    const std::string_view digits = name.substr(0, name.size() - kSuffix.size());
    std::int64_t version = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
    if (error != std::errc() || end != digits.data() + digits.size() || digits.front() == '0') return 0;
    return version;
}

Result<void> remove_leftovers(const std::string& dir) {
    std::error_code error;
    for (const auto& base : {dir, dir + "/blobs"}) {
        for (const fs::directory_entry& entry : fs::directory_iterator(base, error)) {
            const std::string name = entry.path().filename().string();
            if (name.starts_with(".staged-") || name.starts_with(".published-") || name.starts_with(".blob-")) {
                if (auto removed = remove_tree(entry.path().string()); !removed) return removed;
            }
        }
        if (error) return fail(ErrorCode::io, "reading " + base + ": " + error.message());
    }
    return {};
}

}  // namespace

namespace detail {

tuf::Key tuf_key(const KeyIdentity& identity) {
    tuf::Key key;
    const json::Value* keytype = identity.public_object.find("keytype");
    const json::Value* scheme = identity.public_object.find("scheme");
    const json::Value* keyval = identity.public_object.find("keyval");
    const json::Value* value = keyval != nullptr ? keyval->find("public") : nullptr;
    if (keytype != nullptr && keytype->is_string()) key.keytype = keytype->as_string();
    if (scheme != nullptr && scheme->is_string()) key.scheme = scheme->as_string();
    if (value != nullptr && value->is_string()) key.public_value = value->as_string();
    auto verifier = crypto::PublicKey::from_tuf(identity.scheme, key.public_value);
    if (verifier) {
        key.verifier = std::move(*verifier);
    } else {
        key.unusable_reason = verifier.error().message;
    }
    return key;
}

std::string key_material(const KeyIdentity& identity) { return key_material(tuf_key(identity)); }

std::string key_material(const tuf::Key& key) {
    // A key that cannot be read can never verify; its text stands in for it.
    return key.verifier ? key.verifier->fingerprint() : "unreadable:" + key.keytype + ":" + key.public_value;
}

Result<tuf::RoleKeys> role_keys(const RoleKeySet& set, std::string_view role) {
    if (set.keys.empty())
        return fail(ErrorCode::invalid_argument, "role " + std::string(role) + " needs at least one key");
    tuf::RoleKeys keys;
    std::set<std::string> seen;
    for (const KeyIdentity& key : set.keys) {
        if (!seen.insert(key_material(key)).second) {
            return fail(ErrorCode::invalid_argument,
                        "key " + key.keyid + " is given twice for role " + std::string(role));
        }
        keys.keyids.push_back(key.keyid);
    }
    if (set.threshold < 1 || static_cast<std::size_t>(set.threshold) > keys.keyids.size()) {
        return fail(ErrorCode::invalid_argument, "the threshold for " + std::string(role) + " must be between 1 and " +
                                                     std::to_string(keys.keyids.size()) + " (its number of keys)");
    }
    keys.threshold = set.threshold;
    return keys;
}

std::string days_text(std::int64_t seconds) {
    return std::to_string(seconds / 86400) + " d " + std::to_string(seconds % 86400 / 3600) + " h";
}

}  // namespace detail

Result<Repository> Repository::open(const std::string& dir, tuf::UnixSeconds now) {
    auto config_bytes = read_file_bounded(dir + "/bulkhead-repo.json", kMaxConfigBytes);
    if (!config_bytes) {
        return fail(config_bytes.error().code,
                    dir + " is not a bulkhead repository (" + config_bytes.error().message + ")");
    }
    auto config = parse_config(*config_bytes);
    if (!config) return fail(config.error());
    auto lock = DirLock::acquire(dir);
    if (!lock) return fail(lock.error());
    if (auto removed = remove_leftovers(dir); !removed) return fail(removed.error());
    Repository repository(dir, std::move(*lock), *config, now);
    if (auto loaded = repository.load_published_state(); !loaded) return fail(loaded.error());
    return repository;
}

Result<Repository> Repository::create(const std::string& dir, const InitOptions& options, tuf::UnixSeconds now) {
    auto root_keys = detail::role_keys(options.root, "root");
    auto targets_keys = detail::role_keys(options.targets, "targets");
    auto snapshot_keys = detail::role_keys(options.snapshot, "snapshot");
    auto timestamp_keys = detail::role_keys(options.timestamp, "timestamp");
    for (const auto* keys : {&root_keys, &targets_keys, &snapshot_keys, &timestamp_keys}) {
        if (!*keys) return fail(keys->error());
    }
    std::set<std::string> online;
    for (const RoleKeySet* set : {&options.snapshot, &options.timestamp}) {
        for (const KeyIdentity& key : set->keys) online.insert(detail::key_material(key));
    }
    for (const KeyIdentity& key : options.root.keys) {
        if (online.contains(detail::key_material(key))) {
            return fail(ErrorCode::invalid_argument,
                        "root key " + key.keyid +
                            " is also a snapshot or timestamp key; online keys live on servers, so a root key must "
                            "never be one of them");
        }
    }
    if (exists(dir))
        return fail(ErrorCode::invalid_argument, dir + " already exists; a repository is created in a new directory");

    // Built in a temporary sibling and renamed into place, so DIR appears complete or not at all.
    fs::path absolute = fs::absolute(dir);
    const std::string parent = absolute.parent_path().string();
    auto temp = make_temp_dir(parent, ".bulkhead-repo-init-");
    if (!temp) return fail(temp.error());
    auto abandon = [&temp](const Error& error) -> Result<Repository> {
        (void)remove_tree(*temp);
        return fail(error);
    };
    RepoConfig config{options.expiry};
    for (const std::string sub : {"/blobs", "/staged"}) {
        if (::mkdir((*temp + sub).c_str(), 0755) != 0)
            return abandon(Error::from_errno(errno, "creating " + *temp + sub));
    }
    if (auto written = write_file_atomically(*temp + "/bulkhead-repo.json", write_config(config), 0644, false);
        !written) {
        return abandon(written.error());
    }
    {
        auto lock = DirLock::acquire(*temp);
        if (!lock) return abandon(lock.error());
        Repository repository(*temp, std::move(*lock), config, now);
        tuf::Root root;
        root.common = {tuf::RoleType::root, std::string(kSpecVersion), 1, now + config.expiry.root * 86400};
        root.consistent_snapshot = true;
        root.root = *root_keys;
        root.targets = *targets_keys;
        root.snapshot = *snapshot_keys;
        root.timestamp = *timestamp_keys;
        for (const RoleKeySet* set : {&options.root, &options.targets, &options.snapshot, &options.timestamp}) {
            for (const KeyIdentity& key : set->keys) root.keys.emplace(key.keyid, detail::tuf_key(key));
        }
        tuf::Targets targets;
        targets.common = {tuf::RoleType::targets, std::string(kSpecVersion), 1, now + config.expiry.targets * 86400};
        Role root_role{"root", std::move(root), std::nullopt, {}, 0, true, true};
        Role targets_role{"targets", std::nullopt, std::move(targets), {}, 0, true, true};
        repository.roles_.emplace("root", std::move(root_role));
        repository.roles_.emplace("targets", std::move(targets_role));
        if (auto committed = repository.commit(); !committed) return abandon(committed.error());
    }
    if (::renameat2(AT_FDCWD, temp->c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
        return abandon(Error::from_errno(errno, "creating " + dir));
    }
    if (auto synced = sync_directory(parent); !synced) return fail(synced.error());
    return open(dir, now);
}

Result<void> Repository::load_published_state() {
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir_ + "/staged", error)) {
        const std::string name = entry.path().filename().string();
        if (!name.ends_with(".json")) continue;
        std::string role = name.substr(0, name.size() - 5);
        if (role == "root" || role == "targets" || check_role_name(role)) staged_files_.insert(std::move(role));
    }
    if (error) return fail(ErrorCode::io, "reading " + dir_ + "/staged: " + error.message());

    const std::string metadata = dir_ + "/published/metadata";
    if (!exists(metadata)) return {};
    for (const fs::directory_entry& entry : fs::directory_iterator(metadata, error)) {
        published_root_version_ =
            std::max(published_root_version_, root_file_version(entry.path().filename().string()));
    }
    if (error) return fail(ErrorCode::io, "reading " + metadata + ": " + error.message());
    if (published_root_version_ == 0) return fail(ErrorCode::parse, metadata + " has no N.root.json");

    // The published tree is checked the way a client checks it, so a file planted in it (a
    // root with other keys, say) is found here instead of being built upon.
    auto tampered = [&metadata](const std::string& what) {
        return fail(ErrorCode::integrity, metadata + ": " + what + "; the published tree was changed outside bulkhead");
    };
    for (std::int64_t version = 1; version <= published_root_version_; ++version) {
        auto bytes = read_file_bounded(published_file("root", version), kMaxMetadataBytes);
        if (!bytes) return fail(bytes.error());
        auto root = tuf::parse_root(*bytes);
        if (!root)
            return fail(ErrorCode::parse, "published root v" + std::to_string(version) + ": " + root.error().message);
        if (root->signed_part.common.version != version) {
            return tampered(std::to_string(version) + ".root.json holds version " +
                            std::to_string(root->signed_part.common.version));
        }
        const tuf::Root& signer = published_root_ ? *published_root_ : root->signed_part;
        for (const tuf::Root* by : std::initializer_list<const tuf::Root*>{&signer, &root->signed_part}) {
            if (!tuf::verify_threshold("root", root->canonical_signed, root->signatures, by->keys, by->root)) {
                return tampered("root v" + std::to_string(version) + " is not signed by the root keys it needs");
            }
        }
        published_root_ = std::move(root->signed_part);
    }

    auto timestamp_bytes = read_file_bounded(metadata + "/timestamp.json", kMaxMetadataBytes);
    if (!timestamp_bytes) return fail(timestamp_bytes.error());
    auto timestamp = tuf::parse_timestamp(*timestamp_bytes);
    if (!timestamp) return fail(ErrorCode::parse, "published timestamp: " + timestamp.error().message);
    if (!tuf::verify_threshold("timestamp", timestamp->canonical_signed, timestamp->signatures, published_root_->keys,
                               published_root_->timestamp)) {
        return tampered("timestamp.json is not signed by the timestamp key");
    }
    published_timestamp_ = std::move(timestamp->signed_part);
    auto snapshot_bytes =
        read_file_bounded(published_file("snapshot", published_timestamp_->snapshot_meta.version), kMaxMetadataBytes);
    if (!snapshot_bytes) return fail(snapshot_bytes.error());
    auto snapshot = tuf::parse_snapshot(*snapshot_bytes);
    if (!snapshot) return fail(ErrorCode::parse, "published snapshot: " + snapshot.error().message);
    if (!tuf::verify_threshold("snapshot", snapshot->canonical_signed, snapshot->signatures, published_root_->keys,
                               published_root_->snapshot)) {
        return tampered("the snapshot is not signed by the snapshot key");
    }
    published_snapshot_ = std::move(snapshot->signed_part);
    return {};
}

std::string Repository::published_file(const std::string& name, std::int64_t version) const {
    return dir_ + "/published/metadata/" + std::to_string(version) + "." + name + ".json";
}

std::int64_t Repository::published_version_of(const std::string& name) const {
    if (name == "root") return published_root_version_;
    if (!published_snapshot_) return 0;
    const auto found = published_snapshot_->meta.find(name + ".json");
    return found == published_snapshot_->meta.end() ? 0 : found->second.version;
}

std::set<std::string> Repository::role_names() const {
    std::set<std::string> names{"targets"};
    if (published_snapshot_) {
        for (const auto& [file, meta] : published_snapshot_->meta) names.insert(file.substr(0, file.size() - 5));
    }
    for (const std::string& name : staged_files_) {
        if (name != "root") names.insert(name);
    }
    for (const auto& [name, role] : roles_) {
        if (name != "root") names.insert(name);
    }
    return names;
}

Result<Repository::Role*> Repository::load(const std::string& name) {
    if (const auto found = roles_.find(name); found != roles_.end()) return &found->second;
    Role role{name, std::nullopt, std::nullopt, {}, published_version_of(name), false, false};
    auto parse = [&role](std::string_view bytes) -> Result<std::int64_t> {
        if (role.name == "root") {
            auto parsed = tuf::parse_root(bytes);
            if (!parsed) return fail(parsed.error());
            role.root = std::move(parsed->signed_part);
            role.signatures = std::move(parsed->signatures);
            return role.root->common.version;
        }
        auto parsed = tuf::parse_targets(bytes);
        if (!parsed) return fail(parsed.error());
        role.targets = std::move(parsed->signed_part);
        role.signatures = std::move(parsed->signatures);
        return role.targets->common.version;
    };
    if (staged_files_.contains(name)) {
        const std::string path = dir_ + "/staged/" + name + ".json";
        auto bytes = read_file_bounded(path, kMaxMetadataBytes);
        if (!bytes) return fail(bytes.error());
        auto version = parse(*bytes);
        if (!version) return fail(ErrorCode::parse, path + ": " + version.error().message);
        // Not above the published version: left over from a publish that was interrupted
        // after the new tree was in place, so it is already published.
        role.staged = *version > role.published_version;
    }
    if (!role.staged) {
        if (role.published_version == 0) {
            return fail(ErrorCode::not_found, "there is no role '" + name + "' in " + dir_);
        }
        const std::string path = published_file(name, role.published_version);
        auto bytes = read_file_bounded(path, kMaxMetadataBytes);
        if (!bytes) return fail(bytes.error());
        role.signatures.clear();
        if (auto version = parse(*bytes); !version)
            return fail(ErrorCode::parse, path + ": " + version.error().message);
    }
    return &roles_.emplace(name, std::move(role)).first->second;
}

Result<Repository::Role*> Repository::edit(const std::string& name) {
    auto role = load(name);
    if (!role) return fail(role.error());
    Role& loaded = **role;
    if (!loaded.staged) {
        const tuf::RoleType type = loaded.root ? tuf::RoleType::root : tuf::RoleType::targets;
        loaded.common().version = loaded.published_version + 1;
        loaded.common().expires = now_ + config_.expiry.days(type) * 86400;
        loaded.staged = true;
    }
    // Whatever was signed is not what will be published any more.
    loaded.signatures.clear();
    loaded.changed = true;
    return &loaded;
}

Result<std::string> Repository::delegator_of(const std::string& name) {
    if (name == "targets" || name == "root") return std::string("root");
    std::deque<std::string> queue{"targets"};
    std::set<std::string> visited;
    while (!queue.empty()) {
        if (const auto known = parents_.find(name); known != parents_.end()) return known->second;
        const std::string current = queue.front();
        queue.pop_front();
        if (!visited.insert(current).second) continue;
        auto role = load(current);
        if (!role) {
            if (role.error().code == ErrorCode::not_found) continue;
            return fail(role.error());
        }
        const auto& delegations = (*role)->targets->delegations;
        if (!delegations) continue;
        if (delegations->succinct) {
            const tuf::SuccinctRoles& bins = *delegations->succinct;
            const std::string head = bins.name_prefix + "-";
            if (name.starts_with(head)) {
                std::uint32_t index = 0;
                const std::string_view digits = std::string_view(name).substr(head.size());
                const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index, 16);
                if (error == std::errc() && end == digits.data() + digits.size() &&
                    (bins.bit_length == 32 || index < (std::uint64_t{1} << bins.bit_length)) &&
                    tuf::succinct_bin_name(bins, index) == name) {
                    parents_[name] = current;
                    return current;
                }
            }
            continue;  // bins do not delegate further (check_may_delegate)
        }
        for (const tuf::DelegatedRole& child : delegations->roles) {
            parents_.emplace(child.name, current);
            queue.push_back(child.name);
        }
    }
    if (const auto known = parents_.find(name); known != parents_.end()) return known->second;
    return fail(ErrorCode::not_found, "no role delegates to '" + name + "' in " + dir_);
}

Result<std::vector<Repository::Authority>> Repository::authorities(const std::string& name) {
    if (name == "root" || name == "targets") {
        auto root = load("root");
        if (!root) return fail(root.error());
        const tuf::Root& current = *(*root)->root;
        std::vector<Authority> found{{&current.keys, name == "root" ? current.root : current.targets}};
        if (name == "root" && (*root)->staged && published_root_) {
            found.push_back({&published_root_->keys, published_root_->root});
        }
        return found;
    }
    auto parent = delegator_of(name);
    if (!parent) return fail(parent.error());
    auto delegator = load(*parent);
    if (!delegator) return fail(delegator.error());
    const tuf::Delegations& delegations = *(*delegator)->targets->delegations;
    if (delegations.succinct) return std::vector<Authority>{{&delegations.keys, delegations.succinct->keys}};
    for (const tuf::DelegatedRole& role : delegations.roles) {
        if (role.name == name) return std::vector<Authority>{{&delegations.keys, role.keys}};
    }
    return fail(ErrorCode::internal, "delegation of " + name + " vanished");
}

Result<std::string> Repository::canonical_signed(const Role& role) {
    auto value = role.root ? root_to_json(*role.root) : targets_to_json(*role.targets);
    if (!value) return fail(value.error());
    return json::canonical(*value);
}

Result<std::string> Repository::serialise(const Role& role) {
    auto value = role.root ? root_to_json(*role.root) : targets_to_json(*role.targets);
    if (!value) return fail(value.error());
    return write_envelope(Envelope{std::move(*value), role.signatures});
}

Result<Envelope> Repository::envelope(const std::string& name) {
    auto role = load(name);
    if (!role) return fail(role.error());
    auto value = (*role)->root ? root_to_json(*(*role)->root) : targets_to_json(*(*role)->targets);
    if (!value) return fail(value.error());
    return Envelope{std::move(*value), (*role)->signatures};
}

std::string Repository::blob_path(const std::string& sha256) const {
    return dir_ + "/blobs/" + sha256.substr(0, 2) + "/" + sha256;
}

Result<void> Repository::write_pending_blobs() {
    std::set<std::string> fan_outs;
    for (const auto& entry : pending_blobs_) {
        // Named references: clang 14 cannot capture structured bindings in lambdas.
        const std::string& sha256 = entry.first;
        const PendingBlob& pending = entry.second;
        const TargetSource& source = pending.source;
        const std::string fan_out = dir_ + "/blobs/" + sha256.substr(0, 2);
        if (fan_outs.insert(fan_out).second && ::mkdir(fan_out.c_str(), 0755) != 0 && errno != EEXIST) {
            return fail(Error::from_errno(errno, "creating " + fan_out));
        }
        auto stored = store_new_file(
            dir_ + "/blobs", blob_path(sha256), pending.length, [&](int fd, const std::string& what) -> Result<void> {
                if (const auto* bytes = std::get_if<TargetBytes>(&source)) return write_all(fd, bytes->bytes, what);
                // Copied while hashing again: a file that changed since it was added is refused.
                const std::string& from = std::get<TargetFilePath>(source).path;
                const UniqueFd input(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
                if (!input.valid()) return fail(Error::from_errno(errno, "opening " + from));
                crypto::Hasher hasher(crypto::HashAlgorithm::sha256);
                auto copied = read_fd_chunks(input.get(), from, [&](std::string_view chunk) {
                    hasher.update(chunk);
                    return write_all(fd, chunk, what);
                });
                if (!copied) return copied;
                if (hex_encode(hasher.finish()) != sha256) {
                    return fail(ErrorCode::integrity, from + " changed after it was added; nothing was committed");
                }
                return {};
            });
        if (!stored) return stored;
    }
    pending_blobs_.clear();
    return {};
}

Result<void> Repository::commit() {
    if (auto written = write_pending_blobs(); !written) return written;
    const bool any_changed =
        std::any_of(roles_.begin(), roles_.end(), [](const auto& entry) { return entry.second.changed; });
    if (!any_changed) return sync_filesystem(dir_);
    auto temp = make_temp_dir(dir_, ".staged-");
    if (!temp) return fail(temp.error());
    auto abandon = [&temp](const Error& error) -> Result<void> {
        (void)remove_tree(*temp);
        return fail(error);
    };
    std::set<std::string> now_staged;
    for (const std::string& name : staged_files_) {
        const auto loaded = roles_.find(name);
        if (loaded != roles_.end() && (loaded->second.changed || !loaded->second.staged)) continue;
        if (auto linked = link_file(dir_ + "/staged/" + name + ".json", *temp + "/" + name + ".json"); !linked) {
            return abandon(linked.error());
        }
        now_staged.insert(name);
    }
    for (auto& [name, role] : roles_) {
        if (!role.changed || !role.staged) continue;
        auto bytes = serialise(role);
        if (!bytes) return abandon(bytes.error());
        if (auto written = write_new_file(*temp + "/" + name + ".json", *bytes); !written)
            return abandon(written.error());
        now_staged.insert(name);
    }
    if (auto synced = sync_filesystem(dir_); !synced) return abandon(synced.error());
    auto swapped = swap_in(*temp, dir_ + "/staged");
    if (!swapped) return abandon(swapped.error());
    if (auto synced = sync_directory(dir_); !synced) return synced;
    if (*swapped) (void)remove_tree(*temp);
    staged_files_ = std::move(now_staged);
    for (auto& [name, role] : roles_) role.changed = false;
    return {};
}

}  // namespace bulkhead::tuf_repo
