// Builds real, signed TUF repositories in memory for tests: every role's metadata as the bytes a
// repository would serve, with helpers to rotate keys, delegate, bump versions and break things.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/signature.hpp"
#include "tuf/time.hpp"

namespace bulkhead::tuf::testing {

struct TestKey {
    crypto::PrivateKey key;
    std::string keyid;
    nlohmann::json object;  // the TUF key object {keytype, scheme, keyval}
};

// Keys are generated once per process per scheme and index, because RSA keys are slow to make.
const TestKey& test_key(int index, crypto::SignatureScheme scheme = crypto::SignatureScheme::ed25519);

class TestRepository {
public:
    explicit TestRepository(UnixSeconds now = tuf::now());

    // The signed part of each role as it will be published next; edit freely before publish().
    nlohmann::json root;
    nlohmann::json timestamp;
    nlohmann::json snapshot;
    std::map<std::string, nlohmann::json> targets;  // "targets" and delegated roles

    // Who signs each role (by role name), in signature order.
    std::map<std::string, std::vector<const TestKey*>> signers;

    // Published bytes: roots by version, everything else latest by role plus history by version.
    std::map<std::int64_t, std::string> root_versions;
    std::string timestamp_bytes;
    std::map<std::int64_t, std::string> snapshot_versions;
    std::map<std::string, std::map<std::int64_t, std::string>> targets_versions;

    // Signs the role's current signed part with its signers and returns the bytes (pretty
    // printed, as python-tuf serves them). Does not change versions.
    std::string sign(const std::string& role, const nlohmann::json& signed_part) const;

    // Publishes the role: bumps its version unless it is the first publication, signs it,
    // stores the bytes, and updates the meta that refers to it (snapshot or timestamp).
    void publish(const std::string& role);
    // Publishes delegated roles and targets, then snapshot, then timestamp: a normal release.
    void publish_all_targets_and_snapshot();

    // Sets the role's keys in root (replacing its keyids) and its signers.
    void set_role_keys(const std::string& role, const std::vector<const TestKey*>& keys, int threshold);
    // Adds a delegation from `delegator` to `name` with one fresh key.
    void delegate(const std::string& delegator, const std::string& name, const std::vector<std::string>& paths,
                  bool terminating = false, int key_index = 100);
    // Adds a TAP 15 succinct hash-bin delegation from `delegator` with 2^bit_length bins, all
    // signed by one key, each created empty (not yet published).
    void delegate_bins(const std::string& delegator, unsigned bit_length, const std::string& name_prefix,
                       int key_index = 200);
    // Adds a delegation by path_hash_prefixes.
    void delegate_by_hash_prefix(const std::string& delegator, const std::string& name,
                                 const std::vector<std::string>& prefixes, int key_index = 300);
    // Adds a target file to a targets role (not yet published).
    void add_target(const std::string& role, const std::string& path, const std::string& content);
    // Makes snapshot and timestamp meta carry length and sha256 of what they refer to.
    bool with_hashes = false;

    std::map<std::string, std::string> target_contents;  // path -> bytes
    // Bytes served for a target path instead of its real content (a malicious mirror).
    std::map<std::string, std::string> served_instead;

    // What a static web server holding this repository answers for a request path, under
    // /metadata/ (consistent snapshot names, percent-encoded role names) and /targets/
    // (hash-prefixed names). nullopt means 404.
    [[nodiscard]] std::optional<std::string> serve(const std::string& request_path) const;

    [[nodiscard]] std::string latest_root() const { return root_versions.rbegin()->second; }
    [[nodiscard]] std::string latest_targets(const std::string& role) const {
        return targets_versions.at(role).rbegin()->second;
    }

    UnixSeconds now;
    std::string expires_in(std::int64_t seconds) const { return format_expires(now + seconds); }

private:
    std::map<std::string, bool> published_once_;
};

}  // namespace bulkhead::tuf::testing
