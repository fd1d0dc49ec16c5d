// The TUF client workflow over a fetcher and a metadata directory.
//
// The updater moves bytes: it reads cached metadata, downloads new metadata and artifacts, and
// persists what TrustedMetadataSet accepts, exactly as received and atomically. All trust
// decisions are the set's.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "fetch/fetcher.hpp"
#include "tuf/metadata.hpp"
#include "tuf/trusted_set.hpp"

namespace bulkhead::tuf {

struct UpdaterConfig {
    std::size_t max_root_rotations = 256;  // root versions fetched per refresh
    std::size_t max_delegations = 32;      // delegated roles visited per target lookup
    std::size_t root_max_bytes = 512000;   // size caps where metadata lists no length
    std::size_t timestamp_max_bytes = 16384;
    std::size_t snapshot_max_bytes = 2000000;
    std::size_t targets_max_bytes = 5000000;
    bool prefix_targets_with_hash = true;  // under consistent snapshots: DIR/HASH.NAME
};

struct TargetInfo {
    std::string path;
    TargetFile file;
};

class Updater {
public:
    // `metadata_dir` must hold the trusted root.json. URLs end in "/" (added if missing).
    Updater(std::string metadata_dir, std::string metadata_url, std::string target_dir, std::string target_url,
            fetch::Fetcher& fetcher, UpdaterConfig config = {});

    // Specification 5.1 to 5.6: root walk, timestamp, snapshot, top-level targets.
    Result<void> refresh();

    // Looks a target up through the delegation graph (refreshing first if needed). nullopt
    // when no role on the search path lists it.
    Result<std::optional<TargetInfo>> get_targetinfo(std::string_view target_path);

    // The local file for a target if it is present with the right length and hashes.
    Result<std::optional<std::string>> find_cached_target(const TargetInfo& target) const;

    // Downloads, verifies and installs the target into the target directory; returns its path.
    Result<std::string> download_target(const TargetInfo& target);

    // Where a target is stored: TARGET_DIR/<percent-encoded path>, one flat file per path.
    [[nodiscard]] std::string local_target_path(std::string_view target_path) const;

private:
    Result<std::optional<TargetInfo>> search_delegations(std::string_view target_path);
    Result<void> load_root();
    Result<void> load_timestamp();
    Result<void> load_snapshot();
    Result<void> load_targets_role(std::string_view role, std::string_view delegator);
    Result<std::string> download_metadata(std::string_view role, std::optional<std::int64_t> version,
                                          std::size_t max_bytes);
    Result<void> persist_metadata(std::string_view role, std::string_view bytes);
    [[nodiscard]] std::optional<std::string> read_local_metadata(std::string_view role, std::size_t max_bytes) const;
    [[nodiscard]] std::string metadata_path(std::string_view role) const;

    std::string metadata_dir_;
    std::string metadata_url_;
    std::string target_dir_;
    std::string target_url_;
    fetch::Fetcher& fetcher_;
    UpdaterConfig config_;
    std::optional<TrustedMetadataSet> trusted_;
};

}  // namespace bulkhead::tuf
