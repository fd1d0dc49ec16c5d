// A TUF repository on disk, as `bulkhead repo` keeps it (docs/REPO.md):
//
//   DIR/bulkhead-repo.json  settings (expiry policy)
//   DIR/staged/NAME.json    roles changed since the last publish, with their signatures so far
//   DIR/blobs/SH/SHA256     target contents, stored once
//   DIR/published/          the tree any static server carries (metadata/, targets/)
//
// The published tree is the single record of what has been published; a staged role whose
// version is not above the published one is left over from an interrupted publish and ignored.
// Every change happens in memory first and reaches the disk only through commit() or
// publish(), each of which replaces a whole directory atomically; a refused operation leaves
// the repository byte for byte as it was. Roles are loaded only when an operation needs them,
// so memory follows the roles touched, not the size of the repository.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "json/value.hpp"
#include "tuf/metadata.hpp"
#include "tuf/time.hpp"
#include "tuf_repo/builders.hpp"
#include "tuf_repo/config.hpp"
#include "tuf_repo/envelope.hpp"
#include "tuf_repo/key_file.hpp"
#include "tuf_repo/tree.hpp"

namespace bulkhead::tuf_repo {

struct InitOptions {
    RoleKeySet root;
    RoleKeySet targets;
    RoleKeySet snapshot;
    RoleKeySet timestamp;
    ExpiryPolicy expiry;
};

struct DelegationRequest {
    std::string delegator = "targets";
    std::string name;
    RoleKeySet keys;
    bool terminating = false;
    // Exactly one of the two.
    std::vector<std::string> paths;
    std::vector<std::string> hash_prefixes;
};

struct BinsRequest {
    std::string delegator = "targets";
    unsigned bits = 8;  // 2^bits bins, 1..16
    std::string prefix = "bins";
    RoleKeySet keys;
};

// A target's contents: bytes in memory, or a file read when the change is committed.
struct TargetBytes {
    std::string bytes;
};
struct TargetFilePath {
    std::string path;
};
using TargetSource = std::variant<TargetBytes, TargetFilePath>;

struct RoleStatus {
    std::string name;
    std::int64_t published_version = 0;  // 0: never published
    std::optional<tuf::UnixSeconds> published_expires;
    bool staged = false;
    std::int64_t version = 0;  // the staged version when staged, else the published one
    tuf::UnixSeconds expires = 0;
    std::int64_t threshold = 0;
    std::vector<std::string> signed_by;  // authorised keyids with a valid signature
    std::vector<std::string> missing;    // authorised keyids without one
    std::size_t target_count = 0;
};

struct RepoStatus {
    std::vector<RoleStatus> roles;  // root, targets, then delegated roles by name
    std::int64_t snapshot_version = 0;
    std::optional<tuf::UnixSeconds> snapshot_expires;
    std::int64_t timestamp_version = 0;
    std::optional<tuf::UnixSeconds> timestamp_expires;
    std::vector<std::string> warnings;
};

struct PublishResult {
    std::vector<std::pair<std::string, std::int64_t>> roles;  // name and published version
    std::int64_t snapshot_version = 0;
    std::int64_t timestamp_version = 0;
    std::size_t target_files_linked = 0;
};

class Repository {
public:
    // Creates DIR (which must not exist) with root v1 and targets v1 staged, unsigned.
    static Result<Repository> create(const std::string& dir, const InitOptions& options, tuf::UnixSeconds now);
    // Opens an existing repository, locking it for the life of the object.
    static Result<Repository> open(const std::string& dir, tuf::UnixSeconds now);

    Repository(Repository&&) noexcept = default;
    Repository& operator=(Repository&&) noexcept = default;
    Repository(const Repository&) = delete;
    Repository& operator=(const Repository&) = delete;
    ~Repository() = default;

    // With no role, a target goes to the most specific role responsible for its path: down the
    // delegations from "targets", into the hash bin the path belongs to or the first delegated
    // role whose patterns cover it. A role that is not trusted for the path is refused.
    Result<void> add_target(const std::string& path, TargetSource source, std::optional<json::Value> custom,
                            const std::optional<std::string>& role);
    Result<void> remove_target(const std::string& path, const std::optional<std::string>& role);
    Result<void> delegate(const DelegationRequest& request);
    Result<void> delegate_bins(const BinsRequest& request);
    // Stages root N+1 with new keys for one top-level role.
    Result<void> rotate(tuf::RoleType type, const RoleKeySet& keys);
    // Stages a role with a new version and expiry (the policy's, or `expires`) and no other change.
    Result<void> renew(const std::string& role, std::optional<tuf::UnixSeconds> expires);
    // Adds `key`'s signature to the staged roles it is authorised for: `roles`, or all of them
    // when empty. Returns the roles signed.
    Result<std::vector<std::string>> sign(const SigningKey& key, const std::vector<std::string>& roles);
    // Adds signatures made elsewhere over the same staged metadata; each is verified first.
    Result<std::size_t> merge_signatures(const std::string& name, const Envelope& from);

    // Writes the staged changes (and the target contents they need) atomically.
    Result<void> commit();
    // Publishes every staged role with a new snapshot and timestamp. Refused, with nothing
    // changed, when a staged role is below its threshold or expired, or a key is not authorised.
    Result<PublishResult> publish(const std::vector<const SigningKey*>& snapshot_keys,
                                  const std::vector<const SigningKey*>& timestamp_keys);
    Result<RepoStatus> status();

    // The envelope of a role as it stands (staged or published), for inspection and tests.
    Result<Envelope> envelope(const std::string& name);
    [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

private:
    struct Role {
        std::string name;
        std::optional<tuf::Root> root;        // for "root"
        std::optional<tuf::Targets> targets;  // for "targets" and delegated roles
        std::vector<tuf::Signature> signatures;
        std::int64_t published_version = 0;
        bool staged = false;
        bool changed = false;

        [[nodiscard]] tuf::Common& common() { return root ? root->common : targets->common; }
    };
    // A key set that must reach its threshold: root needs the old and the new root's.
    struct Authority {
        const tuf::KeyMap* keys;
        tuf::RoleKeys role;
    };

    Repository(std::string dir, DirLock lock, RepoConfig config, tuf::UnixSeconds now)
        : dir_(std::move(dir)), lock_(std::move(lock)), config_(config), now_(now) {}

    Result<void> load_published_state();
    Result<Role*> load(const std::string& name);
    Result<Role*> edit(const std::string& name);
    [[nodiscard]] std::int64_t published_version_of(const std::string& name) const;
    [[nodiscard]] std::set<std::string> role_names() const;
    Result<std::string> delegator_of(const std::string& name);
    Result<std::vector<Authority>> authorities(const std::string& name);
    static Result<std::string> canonical_signed(const Role& role);
    static Result<std::string> serialise(const Role& role);
    Result<std::string> default_role_for(const std::string& path);
    Result<void> check_trusted_for(const std::string& role, const std::string& path);
    Result<void> check_meets_threshold(const std::string& name);
    Result<void> check_may_delegate(const std::string& delegator);
    Result<void> write_pending_blobs();
    [[nodiscard]] std::string blob_path(const std::string& sha256) const;
    Result<std::optional<tuf::Targets>> read_published_targets(const std::string& name) const;
    [[nodiscard]] std::string published_file(const std::string& name, std::int64_t version) const;

    std::string dir_;
    DirLock lock_;
    RepoConfig config_;
    tuf::UnixSeconds now_;

    std::map<std::string, Role> roles_;
    std::set<std::string> staged_files_;          // names with a current (not left-over) staged file
    std::map<std::string, std::string> parents_;  // delegated role -> delegating role, as found
    struct PendingBlob {
        TargetSource source;
        std::int64_t length = 0;
    };
    std::map<std::string, PendingBlob> pending_blobs_;  // sha256 hex -> contents

    std::int64_t published_root_version_ = 0;
    std::optional<tuf::Root> published_root_;
    std::optional<tuf::Snapshot> published_snapshot_;
    std::optional<tuf::Timestamp> published_timestamp_;
};

}  // namespace bulkhead::tuf_repo
