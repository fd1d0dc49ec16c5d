// DIR/bulkhead-repo.json: the repository's own settings ("bulkhead-repo/1"). Everything else
// about the repository lives in its metadata.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "tuf/metadata.hpp"

namespace bulkhead::tuf_repo {

inline constexpr std::string_view kConfigFormat = "bulkhead-repo/1";
inline constexpr std::int64_t kMaxExpiryDays = 3650;

// How long each role's metadata is valid after it is staged or published, in days.
// Delegated targets roles use the "targets" value.
struct ExpiryPolicy {
    std::int64_t root = 365;
    std::int64_t targets = 90;
    std::int64_t snapshot = 7;
    std::int64_t timestamp = 1;

    [[nodiscard]] std::int64_t days(tuf::RoleType type) const noexcept;
    // Parses "role=DAYS" (e.g. "timestamp=2") into this policy; days from 1 to kMaxExpiryDays.
    Result<void> set(std::string_view assignment);
};

struct RepoConfig {
    ExpiryPolicy expiry;
};

Result<RepoConfig> parse_config(std::string_view bytes);
std::string write_config(const RepoConfig& config);

}  // namespace bulkhead::tuf_repo
