// The patchless verdict: whether a package's PKGBUILD changes upstream's sources, judged from
// its .SRCINFO and PKGBUILD, and bound to the exact PKGBUILD the package was built from by
// BUILDINFO's pkgbuild_sha256sum. A recorded verdict with its evidence, not a proof: the
// PKGBUILD is bash, and only its plain text is read, never run.
//
// Counted as a patch:
//   - a source (.SRCINFO `source`/`source_ARCH`, or any word of the PKGBUILD outside comments)
//     whose file name ends in .patch or .diff, optionally compressed (.gz .xz .bz2 .zst), query
//     and fragment ignored: this also catches forge commit patches (…/commit/SHA.patch);
//   - in the bodies of prepare() and build(): the commands patch, git apply, git am,
//     git cherry-pick, sed with in-place editing (-i, --in-place), perl with -i.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::curate {

enum class PatchVerdict { patchless, patched, unknown };

// "patchless", "patched", "unknown".
std::string_view patch_verdict_name(PatchVerdict verdict) noexcept;

struct PatchFinding {
    std::string file;  // ".SRCINFO" or "PKGBUILD"
    std::size_t line = 0;
    std::string rule;  // "patch file in sources", "patch command in prepare()", ...
    std::string text;  // the offending line, trimmed
};

struct PatchEvidence {
    PatchVerdict verdict = PatchVerdict::unknown;
    std::string pkgbuild_sha256;       // hex, equal to the package's BUILDINFO
    std::vector<std::string> sources;  // .SRCINFO's sources, as written
    std::vector<PatchFinding> findings;
};

inline constexpr std::size_t kMaxRecipeBytes = 1U << 20U;

// Judges the recipe. Fails (integrity) when sha256(pkgbuild) is not pkgbuild_sha256_hex, and
// (parse) when the .SRCINFO is malformed; never fails because something is patched.
Result<PatchEvidence> assess_patches(std::string_view srcinfo, std::string_view pkgbuild,
                                     std::string_view pkgbuild_sha256_hex);

}  // namespace bulkhead::curate
