// The reproducibility policy: a delivered package is accepted only when at least `threshold`
// distinct trusted rebuilder keys signed rebuild links (named "rebuild" or "rebuild FILE")
// whose products hold exactly its hashes. A
// trusted rebuilder that reports other hashes for the file refuses it outright (as in-toto
// does): either the build is not reproducible or someone changed the file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "attest/link.hpp"
#include "base/result.hpp"

namespace bulkhead::attest {

struct RebuilderPolicy {
    std::vector<RebuilderKey> keys;
    std::size_t threshold = 1;
};

// At least one key, distinct keyids, 1 <= threshold <= number of keys.
Result<void> check_policy(const RebuilderPolicy& policy);

struct ReproducibilityEvidence {
    std::vector<std::string> agreeing_keyids;  // sorted, distinct
    std::vector<std::string> ignored;          // links that did not count, and why
};

// Checks the links (JSON texts) for the file named `file_name` with the delivered hashes (sha256
// required; sha512 compared when both sides have it). Fails with not_signed below the threshold,
// integrity when a trusted rebuilder disagrees, parse when a link is malformed.
Result<ReproducibilityEvidence> check_reproducible(const RebuilderPolicy& policy, std::string_view file_name,
                                                   const ArtifactHashes& delivered,
                                                   const std::vector<std::string>& links);

}  // namespace bulkhead::attest
