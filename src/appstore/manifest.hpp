// What the app client reads from the TUF repository about an app: the versions index and one
// version's closure manifest (written by the curator, docs/PACKAGES.md). Both arrive verified
// by TUF, and are still parsed strictly: they decide which files are downloaded and unpacked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::appstore {

inline constexpr std::size_t kMaxIndexBytes = 16U << 20U;
inline constexpr std::size_t kMaxManifestBytes = 16U << 20U;
inline constexpr std::size_t kMaxClosurePackages = 5000;

// apps/APP/versions.json: the versions of `app`, oldest first by pacman's order.
Result<std::vector<std::string>> parse_versions_index(std::string_view text, std::string_view app);

struct ManifestPackage {
    std::string name;
    std::string version;
    std::string repository;
    std::string file;
    std::string target;  // "packages/FILE"
    std::string sha256;  // hex
    std::string sha512;  // hex
    std::uint64_t size = 0;
    std::string patchless;  // "patchless", "patched" or "unknown"
};

struct Manifest {
    std::string app;
    std::string version;
    std::string distro;
    std::string snapshot;
    std::string command;
    std::vector<std::string> args;
    std::vector<ManifestPackage> packages;
};

// apps/APP/VERSION/closure.json; it must be for `app` at `version`.
Result<Manifest> parse_manifest(std::string_view text, std::string_view app, std::string_view version);

}  // namespace bulkhead::appstore
