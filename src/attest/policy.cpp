#include "attest/policy.hpp"

#include <set>

#include "base/text.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::attest {

Result<void> check_policy(const RebuilderPolicy& policy) {
    if (policy.keys.empty()) return fail(ErrorCode::invalid_argument, "the rebuilder policy trusts no keys");
    std::set<std::string> keyids;
    for (const auto& key : policy.keys) {
        if (!keyids.insert(key.keyid).second) {
            return fail(ErrorCode::invalid_argument, "the rebuilder policy lists key " + key.keyid + " twice");
        }
    }
    if (policy.threshold < 1 || policy.threshold > policy.keys.size()) {
        return fail(ErrorCode::invalid_argument,
                    concat({"the rebuilder threshold ", std::to_string(policy.threshold), " is not between 1 and ",
                            std::to_string(policy.keys.size()), " (the trusted keys)"}));
    }
    return {};
}

Result<ReproducibilityEvidence> check_reproducible(const RebuilderPolicy& policy, std::string_view file_name,
                                                   const ArtifactHashes& delivered,
                                                   const std::vector<std::string>& links) {
    if (auto checked = check_policy(policy); !checked) return fail(checked.error());
    constexpr std::size_t kSha256Bytes = 32;
    if (delivered.sha256.size() != kSha256Bytes) {
        return fail(ErrorCode::invalid_argument, "the delivered file's sha256 is missing");
    }
    ReproducibilityEvidence evidence;
    std::set<std::string> agreeing;
    for (std::size_t i = 0; i < links.size(); ++i) {
        const auto which = concat({"link ", std::to_string(i + 1)});
        auto link = parse_link(links[i]);
        if (!link) return fail(link.error().code, concat({which, " for ", file_name, ": ", link.error().message}));
        const auto signers = valid_signers(*link, policy.keys);
        if (signers.empty()) {
            std::string keyids;
            for (const auto& signature : link->signatures) {
                keyids += concat({keyids.empty() ? "" : ", ", signature.keyid.substr(0, 8)});
            }
            evidence.ignored.push_back(
                concat({which, ": no valid signature by a trusted rebuilder key (signed by ", keyids, ")"}));
            continue;
        }
        if (!is_rebuild_link(*link, file_name)) {
            evidence.ignored.push_back(
                concat({which, ": its step is '", valid_utf8(link->name), "', not a rebuild of ", file_name}));
            continue;
        }
        const auto product = link->products.find(std::string(file_name));
        if (product == link->products.end()) {
            evidence.ignored.push_back(concat({which, ": its products do not include ", file_name}));
            continue;
        }
        const auto& rebuilt = product->second;
        const bool sha256_equal = crypto::constant_time_equal(rebuilt.sha256, delivered.sha256);
        const bool sha512_equal = rebuilt.sha512.empty() || delivered.sha512.empty() ||
                                  crypto::constant_time_equal(rebuilt.sha512, delivered.sha512);
        if (!sha256_equal || !sha512_equal) {
            return fail(ErrorCode::integrity,
                        concat({"rebuilders disagree on ", file_name, ": trusted rebuilder ",
                                signers.front().substr(0, 8), " rebuilt it with sha256 ", hex_encode(rebuilt.sha256),
                                ", the delivered file has ", hex_encode(delivered.sha256)}));
        }
        agreeing.insert(signers.begin(), signers.end());
    }
    evidence.agreeing_keyids.assign(agreeing.begin(), agreeing.end());
    if (agreeing.size() < policy.threshold) {
        std::string why;
        for (const auto& reason : evidence.ignored) why += concat({"; ", reason});
        return fail(ErrorCode::not_signed,
                    concat({"only ", std::to_string(agreeing.size()), " of the required ",
                            std::to_string(policy.threshold), " trusted rebuilders reproduced ", file_name, why}));
    }
    return evidence;
}

}  // namespace bulkhead::attest
