// Verifies an update bundle before any byte of it is used: its TUF metadata against the root
// of trust the core already holds (the root walk through any newer roots the bundle carries,
// then timestamp, snapshot and targets, with every signature, version and expiry rule of
// tuf::TrustedMetadataSet), then the newest core release the targets list, then the bundle's
// UKI, verity tree and root image against that release's lengths and hashes. How the bundle
// arrived (a USB stick, an update VM, a mirror) does not matter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "bundle/bundle.hpp"
#include "tuf/metadata.hpp"
#include "tuf/time.hpp"
#include "update/core_release.hpp"
#include "update/trusted_state.hpp"

namespace bulkhead::update {

struct VerifiedPart {
    bundle::Entry entry;     // where it is in the bundle
    tuf::TargetFile target;  // what the signed metadata says it is
};

struct VerifiedBundle {
    CoreRelease release;
    VerifiedPart uki;
    VerifiedPart verity;
    VerifiedPart root;
    std::optional<VerifiedPart> boot_manager;  // when the bundle carries one
    std::int64_t root_version = 0;             // of the newest trusted root after the walk
    std::string newest_root;                   // its bytes, for the caller to keep as its new root of trust
    std::int64_t targets_version = 0;          // for the caller's own rollback checks
    // What the core trusts after this bundle (the roots after its image's own, the timestamp and
    // snapshot), for the caller to keep as the baseline of the next verification.
    TrustedState accepted;
};

// `trusted_root` is the root.json the core trusts; `now` is the time expiry is judged by;
// `earlier` what the core accepted from earlier bundles, in TUF's client order: its roots are
// walked before the bundle's, its timestamp before the bundle's and its snapshot after that, so
// the bundle's versions may not be lower (an earlier timestamp that has expired still counts as
// the baseline; earlier metadata that no longer verifies, after a key rotation, does not).
// Streams every payload once to check its hashes; the caller checks again what it writes.
Result<VerifiedBundle> verify_bundle(const bundle::Bundle& bundle, std::string_view trusted_root, tuf::UnixSeconds now,
                                     const TrustedState& earlier = {});

// The newest core release the bundle's targets metadata lists, read WITHOUT verifying anything:
// only for deciding that a bundle need not be looked at (a medium whose release is installed
// already), never for trusting one.
Result<std::int64_t> peek_release(const bundle::Bundle& bundle);

}  // namespace bulkhead::update
