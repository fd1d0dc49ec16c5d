#include "tuf_repo/model_json.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <utility>

#include "tuf_repo/builders.hpp"

namespace bulkhead::tuf_repo {

namespace {

json::Value object(json::Object members) {
    (void)json::sort_members(members);
    return json::Value(std::move(members));
}

json::Value text(std::string_view value) { return json::Value(std::string(value)); }

json::Value string_list(const std::vector<std::string>& items) {
    json::Array list;
    list.reserve(items.size());
    for (const std::string& item : items) list.push_back(text(item));
    return json::Value(std::move(list));
}

json::Value role_keys_members(json::Object members, const tuf::RoleKeys& keys) {
    json::Object added{{"keyids", string_list(keys.keyids)}, {"threshold", json::Value(keys.threshold)}};
    std::move(added.begin(), added.end(), std::back_inserter(members));
    return object(std::move(members));
}

Result<json::Value> keys_object(const tuf::KeyMap& keys) {
    json::Object members;
    for (const auto& [keyid, key] : keys) {
        auto value = key_object(keyid, key);
        if (!value) return fail(value.error());
        members.emplace_back(keyid, std::move(*value));
    }
    return object(std::move(members));
}

Result<json::Value> delegations_to_json(const tuf::Delegations& delegations) {
    auto keys = keys_object(delegations.keys);
    if (!keys) return fail(keys.error());
    json::Object members{{"keys", std::move(*keys)}};
    if (delegations.succinct) {
        const tuf::SuccinctRoles& bins = *delegations.succinct;
        json::Object succinct;
        succinct.emplace_back("bit_length", json::Value(std::int64_t{bins.bit_length}));
        succinct.emplace_back("name_prefix", text(bins.name_prefix));
        members.emplace_back("succinct_roles", role_keys_members(std::move(succinct), bins.keys));
    } else {
        json::Array roles;
        for (const tuf::DelegatedRole& role : delegations.roles) {
            json::Object entry;
            entry.emplace_back("name", text(role.name));
            entry.emplace_back("terminating", json::Value(role.terminating));
            if (role.paths) entry.emplace_back("paths", string_list(*role.paths));
            if (role.path_hash_prefixes)
                entry.emplace_back("path_hash_prefixes", string_list(*role.path_hash_prefixes));
            roles.push_back(role_keys_members(std::move(entry), role.keys));
        }
        members.emplace_back("roles", json::Value(std::move(roles)));
    }
    return object(std::move(members));
}

}  // namespace

Result<json::Value> key_object(const std::string& keyid, const tuf::Key& key) {
    json::Value value = object({{"keytype", text(key.keytype)},
                                {"scheme", text(key.scheme)},
                                {"keyval", object({{"public", text(key.public_value)}})}});
    auto computed = tuf::compute_keyid(value);
    if (!computed) return fail(computed.error());
    if (*computed != keyid) {
        return fail(ErrorCode::unsupported, "key " + keyid +
                                                " has fields besides keytype, scheme and keyval.public; this tool "
                                                "cannot rewrite it without changing its keyid");
    }
    return value;
}

Result<json::Value> root_to_json(const tuf::Root& root) {
    auto keys = keys_object(root.keys);
    if (!keys) return fail(keys.error());
    json::Object roles;
    const std::array<tuf::RoleType, 4> types = {tuf::RoleType::root, tuf::RoleType::timestamp, tuf::RoleType::snapshot,
                                                tuf::RoleType::targets};
    for (const tuf::RoleType type : types) {
        roles.emplace_back(std::string(tuf::role_type_name(type)), role_keys_members(json::Object(), root.role(type)));
    }
    return object({{"_type", text("root")},
                   {"spec_version", text(root.common.spec_version)},
                   {"version", json::Value(root.common.version)},
                   {"expires", text(tuf::format_expires(root.common.expires))},
                   {"consistent_snapshot", json::Value(root.consistent_snapshot)},
                   {"keys", std::move(*keys)},
                   {"roles", object(std::move(roles))}});
}

Result<json::Value> targets_to_json(const tuf::Targets& targets) {
    std::map<std::string, TargetEntry> entries;
    for (const auto& [path, file] : targets.targets)
        entries.emplace(path, TargetEntry{file.length, file.hashes, file.custom});
    std::optional<json::Value> delegations;
    if (targets.delegations) {
        auto value = delegations_to_json(*targets.delegations);
        if (!value) return fail(value.error());
        delegations = std::move(*value);
    }
    json::Value built = build_targets(targets.common.version, targets.common.expires, entries, delegations);
    // build_targets writes this tool's spec version; keep the one the metadata already has.
    for (json::Member& member : built.as_object()) {
        if (member.first == "spec_version") member.second = text(targets.common.spec_version);
    }
    return built;
}

}  // namespace bulkhead::tuf_repo
