#include "tuf/verify.hpp"

#include <set>

namespace bulkhead::tuf {

Result<void> verify_threshold(std::string_view role_name, const std::string& canonical_signed,
                              const std::vector<Signature>& signatures, const KeyMap& keys, const RoleKeys& role) {
    std::set<std::string, std::less<>> counted;  // key fingerprints already counted
    for (const std::string& keyid : role.keyids) {
        const auto key = keys.find(keyid);
        if (key == keys.end() || !key->second.verifier) continue;
        const crypto::PublicKey& verifier = *key->second.verifier;
        if (counted.contains(verifier.fingerprint())) continue;
        for (const Signature& signature : signatures) {
            if (signature.keyid != keyid || signature.bytes.empty()) continue;
            if (verifier.verify(canonical_signed, signature.bytes)) {
                counted.insert(verifier.fingerprint());
                break;
            }
        }
        if (static_cast<std::int64_t>(counted.size()) >= role.threshold) return {};
    }
    return fail(ErrorCode::not_signed, std::string(role_name) + ": signed by " + std::to_string(counted.size()) +
                                           " of the " + std::to_string(role.threshold) + " distinct key(s) required (" +
                                           std::to_string(role.keyids.size()) + " key(s) authorised, " +
                                           std::to_string(signatures.size()) + " signature(s) present)");
}

}  // namespace bulkhead::tuf
