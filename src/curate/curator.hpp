// The curator: from a snapshot of Arch repositories (databases and package files on local
// disk), one app version made ready to publish. Every package of the app's closure is read
// whole and checked (its .MTREE, the database's sha256 and name), judged for patches when its
// recipe is supplied, and must be reproduced by the rebuilder threshold; only then is anything
// staged in the TUF repository. Target layout (docs/PACKAGES.md):
//
//   packages/FILE                        the package, custom "archpkg" (origin, buildinfo,
//                                        patchless verdict, reproducibility)
//   attestations/FILE/KEYID8.link        each counted rebuilder link
//   signatures/FILE.sig                  the packager's detached signature, when there is one
//   apps/APP/VERSION/closure.json        the closure manifest, custom "app"
//   apps/APP/versions.json               every published version of the app, newest last
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archpkg/package.hpp"
#include "attest/policy.hpp"
#include "base/result.hpp"
#include "curate/closure.hpp"
#include "curate/patches.hpp"
#include "tuf_repo/repository.hpp"

namespace bulkhead::curate {

struct SnapshotRepository {
    std::string name;           // "core", "extra": also the order of preference
    std::string database_path;  // REPO.db
    std::string package_dir;    // where the package files named by the database are
    // Mirrors of that repository directory; a package's URL is BASE + file name.
    std::vector<std::string> mirror_urls;
};

struct CurateRequest {
    std::string app;  // the app's package name
    std::string distro = "archlinux";
    std::string snapshot;  // YYYY-MM-DD of the repository snapshot
    std::vector<SnapshotRepository> repositories;
    ClosureOptions closure;
    std::string recipes_dir;       // optional: RECIPES/PKGBASE/{PKGBUILD,.SRCINFO}
    std::string attestations_dir;  // ATTESTATIONS/FILE/*.link
    attest::RebuilderPolicy rebuilders;
    // What the app's VM runs: an absolute path inside the app's root (default /usr/bin/APP).
    std::string command;
    std::vector<std::string> args;
};

struct CuratedPackage {
    std::string repository;
    std::vector<std::string> required_by;
    std::string file_name;
    std::string file_path;
    std::vector<std::string> urls;
    archpkg::Package package;
    PatchEvidence patches;
    attest::ReproducibilityEvidence reproducibility;
    std::vector<std::string> counted_links;  // link texts, one per agreeing rebuilder
    std::vector<std::string> counted_keyids;
    std::string signature;  // the packager's detached OpenPGP signature, if the snapshot has one
};

struct CuratedApp {
    std::string app;
    std::string version;
    std::vector<CuratedPackage> packages;  // by name
    std::string manifest;                  // closure.json
};

// Checks everything and builds the manifest; touches no repository.
Result<CuratedApp> curate_app(const CurateRequest& request);

// Stages the app version's targets in `repository` (its top-level targets role) and commits;
// the owner then signs and publishes as for any change. A version already published with a
// different closure is refused: versions are immutable.
Result<void> stage_app(tuf_repo::Repository& repository, const CurateRequest& request, const CuratedApp& app);

// Target paths.
std::string package_target(std::string_view file_name);
std::string signature_target(std::string_view file_name);
std::string closure_target(std::string_view app, std::string_view version);
std::string versions_target(std::string_view app);

}  // namespace bulkhead::curate
