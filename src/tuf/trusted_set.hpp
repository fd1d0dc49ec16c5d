// TrustedMetadataSet: the one place that decides which metadata is trusted.
//
// It applies the client workflow of the TUF specification (section 5) to bytes handed to it,
// in order: root (the N+1 walk), timestamp, snapshot, top-level targets, delegated targets.
// It never reads the network or the disk; the updater feeds it and persists what it accepts.
// Every method either accepts the new metadata completely or leaves the set as it was, except
// where noted (an expired timestamp or a snapshot that is not final stays as the rollback
// baseline, as the specification's checks require).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "crypto/digest.hpp"
#include "tuf/metadata.hpp"
#include "tuf/time.hpp"

namespace bulkhead::tuf {

enum class TimestampUpdate {
    updated,    // the new timestamp is trusted
    unchanged,  // same version as the trusted one: discarded, the trusted one stays
};

class TrustedMetadataSet {
public:
    // Loads the locally trusted root. It must be signed by a threshold of its own root keys;
    // its expiry does not matter here (it is checked after the root walk).
    static Result<TrustedMetadataSet> create(std::string_view root_bytes, UnixSeconds reference_time);

    // Specification 5.3: `bytes` is the candidate for version N+1. It must be signed by a
    // threshold of the trusted root's root keys and of its own, and say version N+1 exactly.
    Result<void> update_root(std::string_view bytes);

    // 5.3.10 and 5.4. Checks first that the final root has not expired.
    Result<TimestampUpdate> update_timestamp(std::string_view bytes);

    // 5.5. `from_local_cache` skips the hash and length check against the timestamp (a cached
    // snapshot may be older than the new timestamp; it still serves as rollback baseline).
    Result<void> update_snapshot(std::string_view bytes, bool from_local_cache = false);

    // 5.6 for "targets" (delegator: root) and 5.7 for delegated roles (delegator: the role that
    // delegates to it on the current search path, which must already be trusted).
    Result<void> update_targets(std::string_view bytes);
    Result<void> update_delegated_targets(std::string_view bytes, std::string_view role_name,
                                          std::string_view delegator_name);

    // A delegated role trusted earlier, reached again through `delegator_name`: it must also be
    // signed by a threshold of the keys that delegator assigns to it (diamond delegations).
    Result<void> verify_delegated_against(std::string_view role_name, std::string_view delegator_name) const;

    [[nodiscard]] UnixSeconds reference_time() const noexcept { return reference_time_; }
    [[nodiscard]] const Root& root() const noexcept { return root_.signed_part; }
    [[nodiscard]] const Timestamp* timestamp() const;
    [[nodiscard]] const Snapshot* snapshot() const;
    [[nodiscard]] const Targets* targets(std::string_view role_name) const;

    // The RoleKeys that `delegator` assigns to `role_name`, from its roles list or its succinct
    // hash bins; nullptr if it does not delegate that name.
    static const RoleKeys* delegated_role_keys(const Targets& delegator, std::string_view role_name);

private:
    TrustedMetadataSet(Metadata<Root> root, UnixSeconds reference_time)
        : reference_time_(reference_time), root_(std::move(root)) {}

    Result<void> check_final_timestamp() const;
    Result<void> check_final_snapshot() const;
    Result<void> load_targets(std::string_view bytes, std::string_view role_name, const KeyMap& keys,
                              const RoleKeys& role_keys);

    UnixSeconds reference_time_;
    Metadata<Root> root_;
    std::optional<Metadata<Timestamp>> timestamp_;
    std::optional<Metadata<Snapshot>> snapshot_;
    std::map<std::string, Metadata<Targets>, std::less<>> targets_;  // "targets" and delegated roles
};

// Checks bytes that arrive in pieces against the length and every hash metadata lists for
// them. Unknown hash algorithms are refused (by start), never skipped.
class LengthAndHashCheck {
public:
    static Result<LengthAndHashCheck> start(const std::optional<std::int64_t>& length, const Hashes& hashes,
                                            std::string_view what);
    void update(std::string_view chunk);
    // Consumes the check; fails with integrity naming `what` and the first mismatch.
    Result<void> finish();

private:
    LengthAndHashCheck(std::optional<std::int64_t> length, const Hashes& hashes, std::string what)
        : length_(length), hashes_(&hashes), what_(std::move(what)) {}

    std::optional<std::int64_t> length_;
    const Hashes* hashes_;
    std::string what_;
    std::uint64_t received_ = 0;
    std::vector<crypto::Hasher> hashers_;
};

// Checks data against the length and every hash that metadata lists for it. Unknown hash
// algorithms are refused, never skipped.
Result<void> verify_length_and_hashes(std::string_view data, const std::optional<std::int64_t>& length,
                                      const Hashes& hashes, std::string_view what);

}  // namespace bulkhead::tuf
