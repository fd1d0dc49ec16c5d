#include "tuf_repo/builders.hpp"

#include <algorithm>
#include <array>

#include "base/text.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::tuf_repo {

namespace {

json::Value object(json::Object members) {
    (void)json::sort_members(members);
    return json::Value(std::move(members));
}

json::Value text(std::string_view value) { return json::Value(std::string(value)); }
json::Value number(std::int64_t value) { return json::Value(value); }

json::Object common(std::string_view type, std::int64_t version, tuf::UnixSeconds expires) {
    return {{"_type", text(type)},
            {"spec_version", text(kSpecVersion)},
            {"version", number(version)},
            {"expires", text(tuf::format_expires(expires))}};
}

json::Value hashes_value(const tuf::Hashes& hashes) {
    json::Object members;
    for (const auto& [algorithm, digest] : hashes) members.emplace_back(algorithm, text(digest));
    return object(std::move(members));
}

json::Value meta_file_value(const tuf::MetaFile& meta) {
    json::Object members{{"version", number(meta.version)}};
    if (meta.length) members.emplace_back("length", number(*meta.length));
    if (!meta.hashes.empty()) members.emplace_back("hashes", hashes_value(meta.hashes));
    return object(std::move(members));
}

tuf::Hashes hash(std::string_view bytes, std::initializer_list<crypto::HashAlgorithm> algorithms) {
    tuf::Hashes hashes;
    for (const crypto::HashAlgorithm algorithm : algorithms) {
        hashes.emplace_back(std::string(crypto::hash_algorithm_name(algorithm)),
                            hex_encode(crypto::digest(algorithm, bytes)));
    }
    return hashes;
}

}  // namespace

TargetEntry describe_target(std::string_view bytes, std::optional<json::Value> custom) {
    return TargetEntry{static_cast<std::int64_t>(bytes.size()), hash(bytes, {crypto::HashAlgorithm::sha256}),
                       std::move(custom)};
}

tuf::MetaFile describe_metadata(std::int64_t version, std::string_view bytes) {
    return tuf::MetaFile{version, static_cast<std::int64_t>(bytes.size()),
                         hash(bytes, {crypto::HashAlgorithm::sha256})};
}

json::Value build_root(std::int64_t version, tuf::UnixSeconds expires, bool consistent_snapshot, const RoleKeySet& root,
                       const RoleKeySet& timestamp, const RoleKeySet& snapshot, const RoleKeySet& targets) {
    json::Object keys;
    json::Object roles;
    const std::array<std::pair<const char*, const RoleKeySet*>, 4> all = {
        {{"root", &root}, {"timestamp", &timestamp}, {"snapshot", &snapshot}, {"targets", &targets}}};
    for (const auto& [name, set] : all) {
        json::Array keyids;
        for (const KeyIdentity& key : set->keys) {
            keyids.push_back(text(key.keyid));
            const bool listed = std::any_of(keys.begin(), keys.end(),
                                            [&key](const json::Member& member) { return member.first == key.keyid; });
            if (!listed) keys.emplace_back(key.keyid, key.public_object);
        }
        roles.emplace_back(name,
                           object({{"keyids", json::Value(std::move(keyids))}, {"threshold", number(set->threshold)}}));
    }
    json::Object members = common("root", version, expires);
    members.emplace_back("consistent_snapshot", json::Value(consistent_snapshot));
    members.emplace_back("keys", object(std::move(keys)));
    members.emplace_back("roles", object(std::move(roles)));
    return object(std::move(members));
}

json::Value build_targets(std::int64_t version, tuf::UnixSeconds expires,
                          const std::map<std::string, TargetEntry>& targets,
                          const std::optional<json::Value>& delegations) {
    json::Object listed;
    for (const auto& [path, entry] : targets) {
        json::Object file{{"length", number(entry.length)}, {"hashes", hashes_value(entry.hashes)}};
        if (entry.custom) file.emplace_back("custom", *entry.custom);
        listed.emplace_back(path, object(std::move(file)));
    }
    json::Object members = common("targets", version, expires);
    members.emplace_back("targets", object(std::move(listed)));
    if (delegations) members.emplace_back("delegations", *delegations);
    return object(std::move(members));
}

json::Value build_snapshot(std::int64_t version, tuf::UnixSeconds expires,
                           const std::map<std::string, tuf::MetaFile>& meta) {
    json::Object files;
    for (const auto& [name, file] : meta) files.emplace_back(name, meta_file_value(file));
    json::Object members = common("snapshot", version, expires);
    members.emplace_back("meta", object(std::move(files)));
    return object(std::move(members));
}

json::Value build_timestamp(std::int64_t version, tuf::UnixSeconds expires, const tuf::MetaFile& snapshot) {
    json::Object members = common("timestamp", version, expires);
    members.emplace_back("meta", object({{"snapshot.json", meta_file_value(snapshot)}}));
    return object(std::move(members));
}

}  // namespace bulkhead::tuf_repo
