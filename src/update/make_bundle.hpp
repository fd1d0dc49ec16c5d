// Makes an update bundle from a TUF repository's published tree (docs/REPO.md): its roots,
// timestamp, snapshot and top-level targets, and the three targets of one core release. The
// publisher's side of verify_bundle; nothing here is trusted by the core, which verifies it all.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "update/core_release.hpp"

namespace bulkhead::update {

// The bundle carries the newest release the targets list (the only one a core accepts with
// this metadata); a `release` other than 0 must be that one. out_path must not exist.
Result<CoreRelease> bundle_from_published(const std::string& published_dir, std::int64_t release,
                                          const std::string& out_path);

}  // namespace bulkhead::update
