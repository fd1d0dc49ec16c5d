#include "tuf/trusted_set.hpp"

#include <cstdint>

#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "tuf/verify.hpp"

namespace bulkhead::tuf {

namespace {

Failure with_context(std::string_view what, const Error& error) {
    return fail(error.code, std::string(what) + ": " + error.message);
}

std::string at(UnixSeconds seconds) { return format_expires(seconds); }

Result<void> check_not_expired(const Common& common, std::string_view what, UnixSeconds reference_time) {
    // Specification: metadata is valid only while its expiry is later than the update start time.
    if (common.expires <= reference_time) {
        return fail(ErrorCode::expired, std::string(what) + ": version " + std::to_string(common.version) +
                                            " expired at " + at(common.expires) + " (update started at " +
                                            at(reference_time) + ")");
    }
    return {};
}

// Lower-case hex of the suffix width TAP 15 uses: the number of hex digits of 2^bits - 1.
std::size_t bin_suffix_width(unsigned bit_length) { return (bit_length + 3) / 4; }

bool is_succinct_bin_name(const SuccinctRoles& succinct, std::string_view name) {
    const std::string prefix = succinct.name_prefix + "-";
    if (!name.starts_with(prefix)) return false;
    const std::string_view suffix = name.substr(prefix.size());
    if (suffix.size() != bin_suffix_width(succinct.bit_length)) return false;
    std::uint64_t index = 0;
    for (const char c : suffix) {
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        if (digit < 0) return false;  // only the lower-case form the repository generates
        index = index * 16 + static_cast<std::uint64_t>(digit);
    }
    return index < (std::uint64_t{1} << succinct.bit_length);
}

}  // namespace

Result<LengthAndHashCheck> LengthAndHashCheck::start(const std::optional<std::int64_t>& length, const Hashes& hashes,
                                                     std::string_view what) {
    LengthAndHashCheck check(length, hashes, std::string(what));
    for (const auto& [name, expected] : hashes) {
        auto algorithm = crypto::hash_algorithm_from_name(name);
        if (!algorithm) {
            return fail(ErrorCode::integrity, std::string(what) + ": cannot be verified: " + algorithm.error().message);
        }
        check.hashers_.emplace_back(*algorithm);
    }
    return check;
}

void LengthAndHashCheck::update(std::string_view chunk) {
    received_ += chunk.size();
    for (crypto::Hasher& hasher : hashers_) hasher.update(chunk);
}

Result<void> LengthAndHashCheck::finish() {
    if (length_ && static_cast<std::uint64_t>(*length_) != received_) {
        return fail(ErrorCode::integrity, what_ + ": length is " + std::to_string(received_) + " bytes, expected " +
                                              std::to_string(*length_));
    }
    for (std::size_t i = 0; i < hashers_.size(); ++i) {
        if (!crypto::constant_time_equal(hex_encode(hashers_[i].finish()), (*hashes_)[i].second)) {
            return fail(ErrorCode::integrity, what_ + ": " + (*hashes_)[i].first + " hash mismatch");
        }
    }
    return {};
}

Result<void> verify_length_and_hashes(std::string_view data, const std::optional<std::int64_t>& length,
                                      const Hashes& hashes, std::string_view what) {
    if (length && static_cast<std::uint64_t>(*length) != data.size()) {
        return fail(ErrorCode::integrity, std::string(what) + ": length is " + std::to_string(data.size()) +
                                              " bytes, expected " + std::to_string(*length));
    }
    auto check = LengthAndHashCheck::start(length, hashes, what);
    if (!check) return fail(check.error());
    check->update(data);
    return check->finish();
}

Result<TrustedMetadataSet> TrustedMetadataSet::create(std::string_view root_bytes, UnixSeconds reference_time) {
    auto root = parse_root(root_bytes);
    if (!root) return with_context("trusted root", root.error());
    const Root& signed_root = root->signed_part;
    if (auto verified = verify_threshold("trusted root", root->canonical_signed, root->signatures, signed_root.keys,
                                         signed_root.root);
        !verified) {
        return fail(verified.error());
    }
    return TrustedMetadataSet(std::move(*root), reference_time);
}

Result<void> TrustedMetadataSet::update_root(std::string_view bytes) {
    if (timestamp_) return fail(ErrorCode::internal, "root cannot change after the timestamp is loaded");
    if (root().common.version == INT64_MAX) return fail(ErrorCode::rollback, "root version cannot grow any further");
    const std::int64_t next = root().common.version + 1;
    const std::string what = std::to_string(next) + ".root.json";
    auto candidate = parse_root(bytes);
    if (!candidate) return with_context(what, candidate.error());
    // Signed by a threshold of the currently trusted root keys ...
    if (auto verified =
            verify_threshold(what + " (by the keys of root version " + std::to_string(root().common.version) + ")",
                             candidate->canonical_signed, candidate->signatures, root().keys, root().root);
        !verified) {
        return fail(verified.error());
    }
    // ... is exactly the next version ...
    if (candidate->signed_part.common.version != next) {
        return fail(ErrorCode::rollback, what + ": contains version " +
                                             std::to_string(candidate->signed_part.common.version) + ", expected " +
                                             std::to_string(next));
    }
    // ... and signed by a threshold of its own root keys.
    if (auto verified =
            verify_threshold(what + " (by its own keys)", candidate->canonical_signed, candidate->signatures,
                             candidate->signed_part.keys, candidate->signed_part.root);
        !verified) {
        return fail(verified.error());
    }
    root_ = std::move(*candidate);
    return {};
}

Result<TimestampUpdate> TrustedMetadataSet::update_timestamp(std::string_view bytes) {
    if (snapshot_) return fail(ErrorCode::internal, "timestamp cannot change after the snapshot is loaded");
    // 5.3.10: the final root must not be expired (freeze attack).
    if (auto fresh = check_not_expired(root().common, "root.json", reference_time_); !fresh) return fail(fresh.error());

    auto candidate = parse_timestamp(bytes);
    if (!candidate) return with_context("timestamp.json", candidate.error());
    if (auto verified = verify_threshold("timestamp.json", candidate->canonical_signed, candidate->signatures,
                                         root().keys, root().timestamp);
        !verified) {
        return fail(verified.error());
    }
    const Timestamp& fresh = candidate->signed_part;
    if (timestamp_) {
        const Timestamp& trusted = timestamp_->signed_part;
        if (fresh.common.version < trusted.common.version) {
            return fail(ErrorCode::rollback, "timestamp.json: version " + std::to_string(fresh.common.version) +
                                                 " is older than the trusted version " +
                                                 std::to_string(trusted.common.version));
        }
        if (fresh.common.version == trusted.common.version) return TimestampUpdate::unchanged;
        if (fresh.snapshot_meta.version < trusted.snapshot_meta.version) {
            return fail(ErrorCode::rollback, "timestamp.json: lists snapshot version " +
                                                 std::to_string(fresh.snapshot_meta.version) +
                                                 ", older than the trusted snapshot version " +
                                                 std::to_string(trusted.snapshot_meta.version));
        }
    }
    // Kept even if expired: it is the rollback baseline for a later, valid timestamp.
    timestamp_ = std::move(*candidate);
    if (auto checked = check_final_timestamp(); !checked) return fail(checked.error());
    return TimestampUpdate::updated;
}

Result<void> TrustedMetadataSet::check_final_timestamp() const {
    if (!timestamp_) return fail(ErrorCode::internal, "no timestamp loaded");
    return check_not_expired(timestamp_->signed_part.common, "timestamp.json", reference_time_);
}

Result<void> TrustedMetadataSet::update_snapshot(std::string_view bytes, bool from_local_cache) {
    if (!timestamp_) return fail(ErrorCode::internal, "snapshot needs a trusted timestamp first");
    if (targets_.contains("targets")) return fail(ErrorCode::internal, "snapshot cannot change after targets");
    if (auto fresh = check_final_timestamp(); !fresh) return fail(fresh.error());

    const MetaFile& expected = timestamp_->signed_part.snapshot_meta;
    if (!from_local_cache) {
        if (auto matches = verify_length_and_hashes(bytes, expected.length, expected.hashes, "snapshot.json");
            !matches) {
            return fail(matches.error());
        }
    }
    auto candidate = parse_snapshot(bytes);
    if (!candidate) return with_context("snapshot.json", candidate.error());
    if (auto verified = verify_threshold("snapshot.json", candidate->canonical_signed, candidate->signatures,
                                         root().keys, root().snapshot);
        !verified) {
        return fail(verified.error());
    }
    if (snapshot_) {
        // 5.5.5: no role the trusted snapshot lists may disappear or go back in version.
        const Snapshot& fresh = candidate->signed_part;
        for (const auto& [name, trusted_meta] : snapshot_->signed_part.meta) {
            const auto listed = fresh.meta.find(name);
            if (listed == fresh.meta.end()) {
                return fail(ErrorCode::rollback, "snapshot.json: no longer lists " + name);
            }
            if (listed->second.version < trusted_meta.version) {
                return fail(ErrorCode::rollback,
                            "snapshot.json: lists " + name + " version " + std::to_string(listed->second.version) +
                                ", older than the trusted version " + std::to_string(trusted_meta.version));
            }
        }
    }
    // Kept even if it fails the checks below: it is the rollback baseline for the next snapshot.
    snapshot_ = std::move(*candidate);
    return check_final_snapshot();
}

Result<void> TrustedMetadataSet::check_final_snapshot() const {
    if (!snapshot_) return fail(ErrorCode::internal, "no snapshot loaded");
    const Common& common = snapshot_->signed_part.common;
    if (auto fresh = check_not_expired(common, "snapshot.json", reference_time_); !fresh) return fresh;
    const std::int64_t expected = timestamp_->signed_part.snapshot_meta.version;
    if (common.version != expected) {
        return fail(ErrorCode::rollback, "snapshot.json: version " + std::to_string(common.version) +
                                             " does not match version " + std::to_string(expected) +
                                             " listed by the timestamp");
    }
    return {};
}

Result<void> TrustedMetadataSet::update_targets(std::string_view bytes) {
    return load_targets(bytes, "targets", root().keys, root().targets);
}

Result<void> TrustedMetadataSet::update_delegated_targets(std::string_view bytes, std::string_view role_name,
                                                          std::string_view delegator_name) {
    const Targets* delegator = targets(delegator_name);
    if (delegator == nullptr) {
        return fail(ErrorCode::internal, "delegator " + std::string(delegator_name) + " is not trusted yet");
    }
    const RoleKeys* role_keys = delegated_role_keys(*delegator, role_name);
    if (role_keys == nullptr) {
        return fail(ErrorCode::not_found,
                    std::string(delegator_name) + " does not delegate to " + std::string(role_name));
    }
    return load_targets(bytes, role_name, delegator->delegations->keys, *role_keys);
}

Result<void> TrustedMetadataSet::load_targets(std::string_view bytes, std::string_view role_name, const KeyMap& keys,
                                              const RoleKeys& role_keys) {
    if (!snapshot_) return fail(ErrorCode::internal, "targets need a trusted snapshot first");
    if (auto final_snapshot = check_final_snapshot(); !final_snapshot) return final_snapshot;
    const std::string file = std::string(role_name) + ".json";
    const auto listed = snapshot_->signed_part.meta.find(file);
    if (listed == snapshot_->signed_part.meta.end()) {
        return fail(ErrorCode::not_found, "snapshot.json does not list " + file);
    }
    const MetaFile& meta = listed->second;
    if (auto matches = verify_length_and_hashes(bytes, meta.length, meta.hashes, file); !matches) return matches;
    auto candidate = parse_targets(bytes);
    if (!candidate) return with_context(file, candidate.error());
    if (auto verified = verify_threshold(file, candidate->canonical_signed, candidate->signatures, keys, role_keys);
        !verified) {
        return verified;
    }
    const Common& common = candidate->signed_part.common;
    if (common.version != meta.version) {
        return fail(ErrorCode::rollback, file + ": version " + std::to_string(common.version) +
                                             " does not match version " + std::to_string(meta.version) +
                                             " listed by the snapshot");
    }
    if (auto fresh = check_not_expired(common, file, reference_time_); !fresh) return fresh;
    targets_.insert_or_assign(std::string(role_name), std::move(*candidate));
    return {};
}

Result<void> TrustedMetadataSet::verify_delegated_against(std::string_view role_name,
                                                          std::string_view delegator_name) const {
    const auto role = targets_.find(role_name);
    const Targets* delegator = targets(delegator_name);
    if (role == targets_.end() || delegator == nullptr) {
        return fail(ErrorCode::internal, "role or delegator not trusted yet");
    }
    const RoleKeys* role_keys = delegated_role_keys(*delegator, role_name);
    if (role_keys == nullptr) {
        return fail(ErrorCode::not_found,
                    std::string(delegator_name) + " does not delegate to " + std::string(role_name));
    }
    return verify_threshold(std::string(role_name) + ".json (delegated by " + std::string(delegator_name) + ")",
                            role->second.canonical_signed, role->second.signatures, delegator->delegations->keys,
                            *role_keys);
}

const Timestamp* TrustedMetadataSet::timestamp() const { return timestamp_ ? &timestamp_->signed_part : nullptr; }

const Snapshot* TrustedMetadataSet::snapshot() const { return snapshot_ ? &snapshot_->signed_part : nullptr; }

const Targets* TrustedMetadataSet::targets(std::string_view role_name) const {
    const auto found = targets_.find(role_name);
    return found == targets_.end() ? nullptr : &found->second.signed_part;
}

const RoleKeys* TrustedMetadataSet::delegated_role_keys(const Targets& delegator, std::string_view role_name) {
    if (!delegator.delegations) return nullptr;
    const Delegations& delegations = *delegator.delegations;
    if (delegations.succinct) {
        return is_succinct_bin_name(*delegations.succinct, role_name) ? &delegations.succinct->keys : nullptr;
    }
    for (const DelegatedRole& role : delegations.roles) {
        if (role.name == role_name) return &role.keys;
    }
    return nullptr;
}

}  // namespace bulkhead::tuf
