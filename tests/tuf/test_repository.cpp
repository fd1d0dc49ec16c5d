#include "test_repository.hpp"

#include <map>
#include <stdexcept>
#include <utility>

#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "json/canonical.hpp"
#include "json/parse.hpp"
#include "tuf/metadata.hpp"

namespace bulkhead::tuf::testing {

namespace {

std::string canonical_bytes(const nlohmann::json& value) {
    auto parsed = json::parse(value.dump());
    if (!parsed) throw std::runtime_error("test repository: " + parsed.error().message);
    auto canonical = json::canonical(*parsed);
    if (!canonical) throw std::runtime_error("test repository: " + canonical.error().message);
    return *canonical;
}

constexpr std::int64_t kThirtyDays = 30LL * 24 * 3600;

}  // namespace

const TestKey& test_key(int index, crypto::SignatureScheme scheme) {
    static std::map<std::pair<int, crypto::SignatureScheme>, TestKey> keys;
    const auto slot = std::make_pair(index, scheme);
    if (auto found = keys.find(slot); found != keys.end()) return found->second;
    auto key = crypto::PrivateKey::generate(scheme);
    if (!key) throw std::runtime_error(key.error().message);
    nlohmann::json object = {{"keytype", std::string(crypto::tuf_keytype(scheme))},
                             {"scheme", std::string(crypto::tuf_scheme(scheme))},
                             {"keyval", {{"public", key->public_value()}}}};
    auto parsed = json::parse(object.dump());
    auto keyid = compute_keyid(*parsed);
    return keys.emplace(slot, TestKey{std::move(*key), *keyid, object}).first->second;
}

TestRepository::TestRepository(UnixSeconds now_) : now(now_) {
    const std::string expires = expires_in(kThirtyDays);
    root = {{"_type", "root"},
            {"spec_version", "1.0.31"},
            {"version", 1},
            {"expires", expires},
            {"consistent_snapshot", true},
            {"keys", nlohmann::json::object()},
            {"roles", nlohmann::json::object()}};
    int index = 0;
    for (const char* role : {"root", "timestamp", "snapshot", "targets"}) set_role_keys(role, {&test_key(index++)}, 1);
    timestamp = {{"_type", "timestamp"},
                 {"spec_version", "1.0.31"},
                 {"version", 1},
                 {"expires", expires},
                 {"meta", {{"snapshot.json", {{"version", 1}}}}}};
    snapshot = {{"_type", "snapshot"},
                {"spec_version", "1.0.31"},
                {"version", 1},
                {"expires", expires},
                {"meta", {{"targets.json", {{"version", 1}}}}}};
    targets["targets"] = {{"_type", "targets"},
                          {"spec_version", "1.0.31"},
                          {"version", 1},
                          {"expires", expires},
                          {"targets", nlohmann::json::object()}};
    publish("root");
    publish("targets");
    publish("snapshot");
    publish("timestamp");
}

void TestRepository::set_role_keys(const std::string& role, const std::vector<const TestKey*>& keys, int threshold) {
    nlohmann::json keyids = nlohmann::json::array();
    for (const TestKey* key : keys) {
        root["keys"][key->keyid] = key->object;
        keyids.push_back(key->keyid);
    }
    root["roles"][role] = {{"keyids", keyids}, {"threshold", threshold}};
    signers[role] = keys;
}

std::string TestRepository::sign(const std::string& role, const nlohmann::json& signed_part) const {
    const std::string message = canonical_bytes(signed_part);
    nlohmann::json signatures = nlohmann::json::array();
    if (auto found = signers.find(role); found != signers.end()) {
        for (const TestKey* key : found->second) {
            auto signature = key->key.sign(message);
            if (!signature) throw std::runtime_error(signature.error().message);
            signatures.push_back({{"keyid", key->keyid}, {"sig", hex_encode(*signature)}});
        }
    }
    return nlohmann::json{{"signatures", signatures}, {"signed", signed_part}}.dump(1);
}

void TestRepository::publish(const std::string& role) {
    const bool first = !published_once_[role];
    published_once_[role] = true;
    nlohmann::json& signed_part = role == "root"        ? root
                                  : role == "timestamp" ? timestamp
                                  : role == "snapshot"  ? snapshot
                                                        : targets.at(role);
    if (!first) signed_part["version"] = signed_part["version"].get<std::int64_t>() + 1;
    const std::int64_t version = signed_part["version"].get<std::int64_t>();
    const std::string bytes = sign(role, signed_part);
    auto meta_for = [&](const std::string& data) {
        nlohmann::json meta = {{"version", version}};
        if (with_hashes) {
            meta["length"] = data.size();
            meta["hashes"] = {{"sha256", hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, data))}};
        }
        return meta;
    };
    if (role == "root") {
        root_versions[version] = bytes;
    } else if (role == "timestamp") {
        timestamp_bytes = bytes;
    } else if (role == "snapshot") {
        snapshot_versions[version] = bytes;
        timestamp["meta"]["snapshot.json"] = meta_for(bytes);
    } else {
        targets_versions[role][version] = bytes;
        snapshot["meta"][role + ".json"] = meta_for(bytes);
    }
}

void TestRepository::publish_all_targets_and_snapshot() {
    for (const auto& [role, ignored] : targets) publish(role);
    publish("snapshot");
    publish("timestamp");
}

void TestRepository::delegate(const std::string& delegator, const std::string& name,
                              const std::vector<std::string>& paths, bool terminating, int key_index) {
    const TestKey& key = test_key(key_index);
    nlohmann::json& delegations = targets.at(delegator)["delegations"];
    if (delegations.is_null()) delegations = {{"keys", nlohmann::json::object()}, {"roles", nlohmann::json::array()}};
    delegations["keys"][key.keyid] = key.object;
    delegations["roles"].push_back(
        {{"name", name}, {"keyids", {key.keyid}}, {"threshold", 1}, {"terminating", terminating}, {"paths", paths}});
    if (!targets.contains(name)) {
        targets[name] = {{"_type", "targets"},
                         {"spec_version", "1.0.31"},
                         {"version", 1},
                         {"expires", expires_in(kThirtyDays)},
                         {"targets", nlohmann::json::object()}};
    }
    signers[name].push_back(&key);
}

namespace {

nlohmann::json empty_targets(const std::string& expires) {
    return {{"_type", "targets"},
            {"spec_version", "1.0.31"},
            {"version", 1},
            {"expires", expires},
            {"targets", nlohmann::json::object()}};
}

}  // namespace

void TestRepository::delegate_bins(const std::string& delegator, unsigned bit_length, const std::string& name_prefix,
                                   int key_index) {
    const TestKey& key = test_key(key_index);
    targets.at(delegator)["delegations"] = {
        {"keys", {{key.keyid, key.object}}},
        {"succinct_roles",
         {{"keyids", {key.keyid}}, {"threshold", 1}, {"bit_length", bit_length}, {"name_prefix", name_prefix}}}};
    const std::size_t width = (bit_length + 3) / 4;
    const std::string expires = expires_in(kThirtyDays);
    for (std::uint32_t index = 0; index < (std::uint32_t{1} << bit_length); ++index) {
        std::string digits = hex(index).substr(2);
        digits.insert(0, width - digits.size(), '0');
        const std::string name = name_prefix + "-" + digits;
        targets[name] = empty_targets(expires);
        signers[name] = {&key};
    }
}

void TestRepository::delegate_by_hash_prefix(const std::string& delegator, const std::string& name,
                                             const std::vector<std::string>& prefixes, int key_index) {
    const TestKey& key = test_key(key_index);
    nlohmann::json& delegations = targets.at(delegator)["delegations"];
    if (delegations.is_null()) delegations = {{"keys", nlohmann::json::object()}, {"roles", nlohmann::json::array()}};
    delegations["keys"][key.keyid] = key.object;
    delegations["roles"].push_back({{"name", name},
                                    {"keyids", {key.keyid}},
                                    {"threshold", 1},
                                    {"terminating", false},
                                    {"path_hash_prefixes", prefixes}});
    targets[name] = empty_targets(expires_in(kThirtyDays));
    signers[name] = {&key};
}

void TestRepository::add_target(const std::string& role, const std::string& path, const std::string& content) {
    targets.at(role)["targets"][path] = {
        {"length", content.size()},
        {"hashes", {{"sha256", hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, content))}}}};
    target_contents[path] = content;
}

namespace {

std::string percent_decode(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

}  // namespace

std::optional<std::string> TestRepository::serve(const std::string& request_path) const {
    constexpr std::string_view kMetadata = "/metadata/";
    constexpr std::string_view kTargets = "/targets/";
    if (request_path.starts_with(kMetadata)) {
        const std::string name = request_path.substr(kMetadata.size());
        if (name == "timestamp.json") {
            if (timestamp_bytes.empty()) return std::nullopt;
            return timestamp_bytes;
        }
        const std::size_t dot = name.find('.');
        if (dot == std::string::npos || !name.ends_with(".json")) return std::nullopt;
        if (!root.value("consistent_snapshot", false)) {
            // Plain names: the latest version of each role.
            const std::string role = percent_decode(name.substr(0, name.size() - 5));
            if (role == "snapshot" && !snapshot_versions.empty()) return snapshot_versions.rbegin()->second;
            if (auto found = targets_versions.find(role); found != targets_versions.end()) {
                return found->second.rbegin()->second;
            }
            if (role.find_first_not_of("0123456789") == 0) return std::nullopt;  // not N.root.json
        }
        std::int64_t version = 0;
        try {
            version = std::stoll(name.substr(0, dot));
        } catch (const std::exception&) {
            return std::nullopt;
        }
        const std::string role = percent_decode(name.substr(dot + 1, name.size() - dot - 1 - 5));
        const std::map<std::int64_t, std::string>* versions = nullptr;
        if (role == "root") {
            versions = &root_versions;
        } else if (role == "snapshot") {
            versions = &snapshot_versions;
        } else if (auto found = targets_versions.find(role); found != targets_versions.end()) {
            versions = &found->second;
        }
        if (versions == nullptr) return std::nullopt;
        const auto found = versions->find(version);
        if (found == versions->end()) return std::nullopt;
        return found->second;
    }
    if (request_path.starts_with(kTargets)) {
        const std::string rest = request_path.substr(kTargets.size());
        if (!root.value("consistent_snapshot", false)) {
            const auto content = target_contents.find(rest);
            if (content == target_contents.end()) return std::nullopt;
            if (auto replaced = served_instead.find(rest); replaced != served_instead.end()) return replaced->second;
            return content->second;
        }
        const std::size_t slash = rest.rfind('/');
        const std::string directory = slash == std::string::npos ? "" : rest.substr(0, slash + 1);
        const std::string file = slash == std::string::npos ? rest : rest.substr(slash + 1);
        const std::size_t dot = file.find('.');
        if (dot == std::string::npos) return std::nullopt;
        const std::string prefix = file.substr(0, dot);
        const std::string path = directory + file.substr(dot + 1);
        const auto content = target_contents.find(path);
        if (content == target_contents.end()) return std::nullopt;
        if (prefix != hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, content->second)) &&
            prefix != hex_encode(crypto::digest(crypto::HashAlgorithm::sha512, content->second))) {
            return std::nullopt;
        }
        if (auto replaced = served_instead.find(path); replaced != served_instead.end()) return replaced->second;
        return content->second;
    }
    return std::nullopt;
}

}  // namespace bulkhead::tuf::testing
