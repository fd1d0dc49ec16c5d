// Building the signed part of each TUF role from typed values, so the repository tooling never
// assembles metadata by hand. The result parses with the client's own parser (tests check it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json/value.hpp"
#include "tuf/metadata.hpp"
#include "tuf/time.hpp"
#include "tuf_repo/key_file.hpp"

namespace bulkhead::tuf_repo {

inline constexpr std::string_view kSpecVersion = "1.0.34";

struct RoleKeySet {
    std::vector<KeyIdentity> keys;
    std::int64_t threshold = 1;
};

struct TargetEntry {
    std::int64_t length = 0;
    tuf::Hashes hashes;                 // algorithm -> lower-case hex, sorted by algorithm
    std::optional<json::Value> custom;  // an object, when given
};

// Length and SHA-256 of a target file's bytes. One hash on purpose: under consistent snapshots
// every listed hash needs its own published copy (a client may pick any of them), and SHA-256
// is what the rest of the chain (snapshot and timestamp hashes, keyids) already rests on.
TargetEntry describe_target(std::string_view bytes, std::optional<json::Value> custom = std::nullopt);

json::Value build_root(std::int64_t version, tuf::UnixSeconds expires, bool consistent_snapshot, const RoleKeySet& root,
                       const RoleKeySet& timestamp, const RoleKeySet& snapshot, const RoleKeySet& targets);

// `delegations` is the finished "delegations" object, when the role delegates.
json::Value build_targets(std::int64_t version, tuf::UnixSeconds expires,
                          const std::map<std::string, TargetEntry>& targets,
                          const std::optional<json::Value>& delegations = std::nullopt);

json::Value build_snapshot(std::int64_t version, tuf::UnixSeconds expires,
                           const std::map<std::string, tuf::MetaFile>& meta);

json::Value build_timestamp(std::int64_t version, tuf::UnixSeconds expires, const tuf::MetaFile& snapshot);

// MetaFile for published bytes: version, length and SHA-256 (what snapshot and timestamp list).
tuf::MetaFile describe_metadata(std::int64_t version, std::string_view bytes);

}  // namespace bulkhead::tuf_repo
