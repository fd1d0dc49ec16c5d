// The TUF 1.0 metadata model: root, timestamp, snapshot, targets and delegated targets, parsed
// strictly from untrusted bytes. Parsing checks types and the format rules of the
// specification; it makes no trust decision (that is TrustedMetadataSet's job).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "crypto/signature.hpp"
#include "json/value.hpp"
#include "tuf/time.hpp"

namespace bulkhead::tuf {

enum class RoleType { root, timestamp, snapshot, targets };
std::string_view role_type_name(RoleType type) noexcept;

// A key as listed in root or in a delegation. Keys of unsupported types, or whose public value
// cannot be read, are kept but can never verify a signature (they simply count for nothing).
struct Key {
    std::string keytype;
    std::string scheme;
    std::string public_value;
    std::optional<crypto::PublicKey> verifier;
    std::string unusable_reason;  // why verifier is empty
};
using KeyMap = std::map<std::string, Key, std::less<>>;  // by keyid

// The keyid the specification defines: lower-case hex SHA-256 of the key object's canonical JSON.
Result<std::string> compute_keyid(const json::Value& key_object);

struct RoleKeys {
    std::vector<std::string> keyids;  // unique
    std::int64_t threshold = 1;       // >= 1
};

// Algorithm name -> lower-case hex digest, sorted by algorithm name; never empty when present.
using Hashes = std::vector<std::pair<std::string, std::string>>;

struct MetaFile {
    std::int64_t version = 0;            // >= 1
    std::optional<std::int64_t> length;  // >= 0
    Hashes hashes;                       // empty when not listed
};

struct TargetFile {
    std::int64_t length = 0;
    Hashes hashes;  // never empty
    std::optional<json::Value> custom;
};

struct DelegatedRole {
    std::string name;
    RoleKeys keys;
    bool terminating = false;
    // Exactly one of the two is set.
    std::optional<std::vector<std::string>> paths;
    std::optional<std::vector<std::string>> path_hash_prefixes;
};

// TAP 15: 2^bit_length bins named name_prefix-<hex>, all signed with the same keys.
struct SuccinctRoles {
    RoleKeys keys;
    unsigned bit_length = 1;  // 1..32
    std::string name_prefix;
};

struct Delegations {
    KeyMap keys;
    std::vector<DelegatedRole> roles;       // when "roles" is used
    std::optional<SuccinctRoles> succinct;  // when "succinct_roles" is used
};

struct Common {
    RoleType type = RoleType::root;
    std::string spec_version;
    std::int64_t version = 0;
    UnixSeconds expires = 0;
};

struct Root {
    Common common;
    bool consistent_snapshot = false;
    KeyMap keys;
    RoleKeys root;
    RoleKeys timestamp;
    RoleKeys snapshot;
    RoleKeys targets;

    [[nodiscard]] const RoleKeys& role(RoleType type) const;
    [[nodiscard]] RoleKeys& role(RoleType type);
};

struct Timestamp {
    Common common;
    MetaFile snapshot_meta;  // meta["snapshot.json"]
};

struct Snapshot {
    Common common;
    std::map<std::string, MetaFile, std::less<>> meta;  // "targets.json", "<role>.json"
};

struct Targets {
    Common common;
    std::map<std::string, TargetFile, std::less<>> targets;
    std::optional<Delegations> delegations;
};

struct Signature {
    std::string keyid;
    std::string bytes;  // decoded from hex; empty if the hex was invalid (it then never verifies)
};

template <typename Signed>
struct Metadata {
    Signed signed_part;
    std::vector<Signature> signatures;
    std::string canonical_signed;  // the exact bytes every signature must cover
};

Result<Metadata<Root>> parse_root(std::string_view bytes);
Result<Metadata<Timestamp>> parse_timestamp(std::string_view bytes);
Result<Metadata<Snapshot>> parse_snapshot(std::string_view bytes);
Result<Metadata<Targets>> parse_targets(std::string_view bytes);

// Accepts "1.x" and "1.x.y" with numeric parts: this client implements TUF 1.
Result<void> check_spec_version(std::string_view version);

}  // namespace bulkhead::tuf
