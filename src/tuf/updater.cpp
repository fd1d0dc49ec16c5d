#include "tuf/updater.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "tuf/delegation.hpp"
#include "tuf/time.hpp"
#include "tuf/url.hpp"

namespace bulkhead::tuf {

namespace {

std::string with_slash(std::string url) {
    if (!url.ends_with('/')) url += '/';
    return url;
}

// The size cap for metadata whose length trusted metadata may list: the listed length, which
// must not exceed the configured limit (a listed length is signed, but a compromised online key
// must not be able to make the client download without bound).
Result<std::size_t> metadata_cap(const MetaFile& meta, std::size_t configured, const std::string& file) {
    if (!meta.length) return configured;
    if (static_cast<std::uint64_t>(*meta.length) > configured) {
        return fail(ErrorCode::too_large, file + ": listed length of " + std::to_string(*meta.length) +
                                              " bytes exceeds the configured limit of " + std::to_string(configured));
    }
    return static_cast<std::size_t>(*meta.length);
}

bool same_role_keys(const RoleKeys& left, const RoleKeys& right) {
    return left.threshold == right.threshold && std::set<std::string>(left.keyids.begin(), left.keyids.end()) ==
                                                    std::set<std::string>(right.keyids.begin(), right.keyids.end());
}

}  // namespace

Updater::Updater(std::string metadata_dir, std::string metadata_url, std::string target_dir, std::string target_url,
                 fetch::Fetcher& fetcher, UpdaterConfig config)
    : metadata_dir_(std::move(metadata_dir)),
      metadata_url_(with_slash(std::move(metadata_url))),
      target_dir_(std::move(target_dir)),
      target_url_(target_url.empty() ? std::string() : with_slash(std::move(target_url))),
      fetcher_(fetcher),
      config_(config) {}

std::string Updater::metadata_path(std::string_view role) const {
    return metadata_dir_ + "/" + percent_encode(role) + ".json";
}

std::optional<std::string> Updater::read_local_metadata(std::string_view role, std::size_t max_bytes) const {
    auto bytes = read_file_bounded(metadata_path(role), max_bytes);
    if (!bytes) return std::nullopt;
    return std::move(*bytes);
}

Result<void> Updater::persist_metadata(std::string_view role, std::string_view bytes) {
    // Root is the trust anchor and timestamp and snapshot are the rollback baselines: they must
    // survive a power failure. Targets metadata is a cache: every use re-verifies it against the
    // snapshot, and a lost or damaged copy is simply downloaded again, so it skips the syncs
    // (the rename keeps it atomic).
    const bool durable = role == "root" || role == "timestamp" || role == "snapshot";
    return write_file_atomically(metadata_path(role), bytes, 0644, durable);
}

Result<std::string> Updater::download_metadata(std::string_view role, std::optional<std::int64_t> version,
                                               std::size_t max_bytes) {
    std::string name = percent_encode(role) + ".json";
    if (version) name = std::to_string(*version) + "." + name;
    return fetcher_.fetch_bytes(metadata_url_ + name, max_bytes);
}

Result<void> Updater::refresh() {
    if (auto root = load_root(); !root) return root;
    if (auto timestamp = load_timestamp(); !timestamp) return timestamp;
    if (auto snapshot = load_snapshot(); !snapshot) return snapshot;
    return load_targets_role("targets", "root");
}

Result<void> Updater::load_root() {
    auto local = read_file_bounded(metadata_path("root"), config_.root_max_bytes);
    if (!local) return fail(local.error().code, "trusted root: " + local.error().message);
    auto trusted = TrustedMetadataSet::create(*local, now());
    if (!trusted) return fail(trusted.error());
    trusted_ = std::move(*trusted);
    const Root initial = trusted_->root();

    // 5.3: walk N+1 until the repository has no newer root.
    for (std::size_t step = 0; step < config_.max_root_rotations; ++step) {
        const std::int64_t next = trusted_->root().common.version + 1;
        auto bytes = download_metadata("root", next, config_.root_max_bytes);
        if (!bytes) {
            if (bytes.error().code == ErrorCode::not_found) break;
            return fail(bytes.error());
        }
        if (auto updated = trusted_->update_root(*bytes); !updated) return updated;
        if (auto saved = persist_metadata("root", *bytes); !saved) return saved;
    }

    // 5.3.11: if the timestamp or snapshot keys changed, the cached files of those roles can no
    // longer serve as rollback baselines (fast-forward attack recovery).
    const Root& final_root = trusted_->root();
    if (!same_role_keys(initial.timestamp, final_root.timestamp) ||
        !same_role_keys(initial.snapshot, final_root.snapshot)) {
        for (const char* role : {"timestamp", "snapshot"}) {
            if (::unlink(metadata_path(role).c_str()) != 0 && errno != ENOENT) {
                return fail(Error::from_errno(errno, "removing " + metadata_path(role)));
            }
        }
    }
    return {};
}

Result<void> Updater::load_timestamp() {
    // A cached timestamp that still verifies is the rollback baseline, even if it expired.
    if (auto local = read_local_metadata("timestamp", config_.timestamp_max_bytes)) {
        (void)trusted_->update_timestamp(*local);
    }
    auto bytes = download_metadata("timestamp", std::nullopt, config_.timestamp_max_bytes);
    if (!bytes) return fail(bytes.error());
    auto updated = trusted_->update_timestamp(*bytes);
    if (!updated) return fail(updated.error());
    if (*updated == TimestampUpdate::unchanged) return {};
    return persist_metadata("timestamp", *bytes);
}

Result<void> Updater::load_snapshot() {
    if (auto local = read_local_metadata("snapshot", config_.snapshot_max_bytes)) {
        if (trusted_->update_snapshot(*local, true)) return {};  // cached copy is current
    }
    const MetaFile& meta = trusted_->timestamp()->snapshot_meta;
    auto max_bytes = metadata_cap(meta, config_.snapshot_max_bytes, "snapshot.json");
    if (!max_bytes) return fail(max_bytes.error());
    const std::optional<std::int64_t> version =
        trusted_->root().consistent_snapshot ? std::optional<std::int64_t>(meta.version) : std::nullopt;
    auto bytes = download_metadata("snapshot", version, *max_bytes);
    if (!bytes) return fail(bytes.error());
    if (auto updated = trusted_->update_snapshot(*bytes); !updated) return updated;
    return persist_metadata("snapshot", *bytes);
}

Result<void> Updater::load_targets_role(std::string_view role, std::string_view delegator) {
    auto load = [&](std::string_view bytes) {
        return role == "targets" ? trusted_->update_targets(bytes)
                                 : trusted_->update_delegated_targets(bytes, role, delegator);
    };
    const auto listed = trusted_->snapshot()->meta.find(std::string(role) + ".json");
    if (listed == trusted_->snapshot()->meta.end()) {
        return fail(ErrorCode::not_found, "snapshot.json does not list " + std::string(role) + ".json");
    }
    const MetaFile& meta = listed->second;
    auto max_bytes = metadata_cap(meta, config_.targets_max_bytes, std::string(role) + ".json");
    if (!max_bytes) return fail(max_bytes.error());
    if (auto local = read_local_metadata(role, *max_bytes)) {
        if (load(*local)) return {};
    }
    const std::optional<std::int64_t> version =
        trusted_->root().consistent_snapshot ? std::optional<std::int64_t>(meta.version) : std::nullopt;
    auto bytes = download_metadata(role, version, *max_bytes);
    if (!bytes) return fail(bytes.error());
    if (auto updated = load(*bytes); !updated) return updated;
    return persist_metadata(role, *bytes);
}

Result<std::optional<TargetInfo>> Updater::get_targetinfo(std::string_view target_path) {
    if (!trusted_ || trusted_->targets("targets") == nullptr) {
        if (auto refreshed = refresh(); !refreshed) return fail(refreshed.error());
    }
    return search_delegations(target_path);
}

Result<std::optional<TargetInfo>> Updater::search_delegations(std::string_view target_path) {
    const std::string path_hash = target_path_hash(target_path);
    // Pre-order depth-first search; each entry is (role, the delegator on this path).
    std::vector<std::pair<std::string, std::string>> to_visit{{"targets", "root"}};
    std::set<std::string, std::less<>> visited;
    std::size_t delegated_visited = 0;
    while (!to_visit.empty()) {
        auto [role, delegator] = std::move(to_visit.back());
        to_visit.pop_back();
        if (visited.contains(role)) continue;
        if (role != "targets") {
            if (delegated_visited == config_.max_delegations) break;
            ++delegated_visited;
            if (trusted_->targets(role) != nullptr) {
                // Trusted during an earlier lookup, maybe through another delegator: it must
                // also satisfy the delegator on this path.
                if (auto verified = trusted_->verify_delegated_against(role, delegator); !verified) {
                    return fail(verified.error());
                }
            } else if (auto loaded = load_targets_role(role, delegator); !loaded) {
                return fail(loaded.error());
            }
        }
        const Targets& targets = *trusted_->targets(role);
        if (const auto found = targets.targets.find(target_path); found != targets.targets.end()) {
            return std::optional<TargetInfo>(TargetInfo{std::string(target_path), found->second});
        }
        visited.insert(role);
        if (!targets.delegations) continue;

        std::vector<std::pair<std::string, std::string>> children;
        bool terminated = false;
        if (targets.delegations->succinct) {
            // One bin holds the path; bins are terminating (as python-tuf treats them).
            children.emplace_back(succinct_bin_for(*targets.delegations->succinct, path_hash), role);
            terminated = true;
        } else {
            for (const DelegatedRole& child : targets.delegations->roles) {
                if (!role_covers_path(child, target_path, path_hash)) continue;
                children.emplace_back(child.name, role);
                if (child.terminating) {
                    terminated = true;
                    break;
                }
            }
        }
        if (terminated) to_visit.clear();
        to_visit.insert(to_visit.end(), children.rbegin(), children.rend());
    }
    return std::optional<TargetInfo>();
}

std::string Updater::local_target_path(std::string_view target_path) const {
    std::string name = percent_encode(target_path);
    // "." and ".." are not file names, and names over the file system's 255-byte limit cannot be
    // created: those paths are stored under their SHA-256 instead (still one file per path).
    constexpr std::size_t kMaxName = 200;
    if (name == "." || name == ".." || name.size() > kMaxName) name = "sha256-" + target_path_hash(target_path);
    return target_dir_ + "/" + name;
}

Result<std::optional<std::string>> Updater::find_cached_target(const TargetInfo& target) const {
    const std::string path = local_target_path(target.path);
    // Only a regular file of exactly the listed size, hashed in pieces: never a symlink, a FIFO
    // or a huge file read into memory.
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK));
    struct stat info {};
    if (!fd.valid() || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode) ||
        info.st_size != static_cast<off_t>(target.file.length)) {
        return std::optional<std::string>();
    }
    auto check = LengthAndHashCheck::start(target.file.length, target.file.hashes, target.path);
    if (!check) return std::optional<std::string>();
    std::array<char, 65536> buffer{};
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return std::optional<std::string>();
        if (got == 0) break;
        check->update(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    }
    if (!check->finish()) return std::optional<std::string>();
    return std::optional<std::string>(path);
}

Result<std::string> Updater::download_target(const TargetInfo& target) {
    if (!trusted_) return fail(ErrorCode::internal, "refresh before downloading targets");
    if (target_url_.empty()) return fail(ErrorCode::invalid_argument, "no target base URL given");
    std::string remote = target.path;
    if (trusted_->root().consistent_snapshot && config_.prefix_targets_with_hash) {
        const std::size_t slash = remote.rfind('/');
        const std::string& digest = target.file.hashes.front().second;
        remote = slash == std::string::npos ? digest + "." + remote
                                            : remote.substr(0, slash + 1) + digest + "." + remote.substr(slash + 1);
    }

    // Download next to the target directory (not inside it), hash while writing, verify, and
    // only then rename into place: unverified bytes never appear in the target directory.
    if (target_dir_.empty()) return fail(ErrorCode::invalid_argument, "no target directory given");
    std::error_code path_error;
    const std::filesystem::path target_dir = std::filesystem::absolute(target_dir_, path_error);
    if (path_error)
        return fail(ErrorCode::invalid_argument, "target directory " + target_dir_ + ": " + path_error.message());
    std::string temp = (target_dir.parent_path() / ".bulkhead-download-XXXXXX").string();
    const UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "creating a temporary file for " + target.path));
    auto abandon = [&temp](const Error& error) -> Result<std::string> {
        ::unlink(temp.c_str());
        return fail(error);
    };

    auto check = LengthAndHashCheck::start(target.file.length, target.file.hashes, target.path);
    if (!check) return abandon(check.error());
    auto fetched = fetcher_.fetch(target_url_ + remote, static_cast<std::size_t>(target.file.length),
                                  [&](std::string_view chunk) -> Result<void> {
                                      check->update(chunk);
                                      return write_all(fd.get(), chunk, temp);
                                  });
    if (!fetched) return abandon(fetched.error());
    if (auto verified = check->finish(); !verified) return abandon(verified.error());
    if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0) {
        return abandon(Error::from_errno(errno, "syncing " + temp));
    }
    const std::string destination = local_target_path(target.path);
    if (::rename(temp.c_str(), destination.c_str()) != 0) {
        return abandon(Error::from_errno(errno, "moving the verified target to " + destination));
    }
    return destination;
}

}  // namespace bulkhead::tuf
