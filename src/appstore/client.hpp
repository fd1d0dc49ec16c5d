// The app client: picks an app version from the TUF repository (the newest unless one is
// named), checks everything the client's own policy demands before a byte is unpacked, and
// builds the app's root tree. Trust comes from TUF alone: mirrors (HTTP(S), SOCKS5h for onion
// services, file:// for offline media) only move bytes, and a package is used only once its
// length and hashes match the targets metadata. Then, per package: the rebuilder threshold of
// the client's own trusted keys (links fetched as TUF targets), the patchless policy (require
// or warn), and the package's .MTREE while it is unpacked (archpkg::TreeWriter).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appstore/manifest.hpp"
#include "attest/policy.hpp"
#include "base/result.hpp"
#include "fetch/fetcher.hpp"

namespace bulkhead::appstore {

enum class PatchPolicy { require, warn };

struct ClientConfig {
    std::string metadata_dir;  // TUF metadata; must hold the trusted root.json
    std::string metadata_url;  // the repository's metadata base URL
    std::string targets_url;   // its targets base URL, the mirror of last resort
    std::string cache_dir;     // verified downloads
    attest::RebuilderPolicy rebuilders;
    PatchPolicy patches = PatchPolicy::require;
    bool use_package_mirrors = true;  // try the URLs the curator recorded before targets_url
};

struct ProgressEvent {
    std::string stage;  // "refresh", "download", "verify", "unpack"
    std::string item;   // the package file, or the app
    std::uint64_t done = 0;
    std::uint64_t total = 0;
};
using Progress = std::function<void(const ProgressEvent&)>;

struct PreparedApp {
    Manifest manifest;
    std::vector<std::string> warnings;  // patched or unjudged packages under PatchPolicy::warn
};

class AppStore {
public:
    AppStore(ClientConfig config, fetch::Fetcher& fetcher) : config_(std::move(config)), fetcher_(fetcher) {}

    // The versions the repository offers, oldest first.
    Result<std::vector<std::string>> versions(std::string_view app);

    // Checks and unpacks `app` (at `version`, or the newest) into `tree_dir`, an existing empty
    // directory. On failure the tree is left for the caller to remove; nothing else is changed.
    Result<PreparedApp> prepare(std::string_view app, const std::optional<std::string>& version,
                                const std::string& tree_dir, const Progress& progress = {});

private:
    ClientConfig config_;
    fetch::Fetcher& fetcher_;
};

}  // namespace bulkhead::appstore
