// The apps installed on this machine and the host identity of each: STATE/registry.json
// ("bulkhead-apps/1"), written atomically. An app keeps its uid for as long as its data exists:
// `remove` without purge keeps the entry (state "removed") and re-adding the name takes it back.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::apps {

// Host uids (and gids, equal to them) reserved for apps, outside Debian's ranges for system
// and login accounts.
inline constexpr uid_t kFirstAppUid = 600000;
inline constexpr uid_t kLastAppUid = 609999;

enum class InstallState { installed, removed };

struct AppRecord {
    std::string name;
    uid_t uid = 0;  // gid is the same number
    std::string version;
    InstallState state = InstallState::installed;
};

// "bh-" + the app name: the host user and group of an app.
std::string host_user_name(const std::string& app);

class Registry {
public:
    // Reads STATE/registry.json; a missing file is an empty registry.
    static Result<Registry> load(const std::string& state_dir);
    Result<void> save() const;

    [[nodiscard]] const std::vector<AppRecord>& records() const noexcept { return records_; }
    [[nodiscard]] const AppRecord* find(const std::string& name) const;
    AppRecord* find(const std::string& name);
    void put(AppRecord record);
    void erase(const std::string& name);

    // The lowest reserved uid that no record holds and `in_use` does not report (a host account
    // that already has it); fails when the range is exhausted.
    template <typename InUse>
    Result<uid_t> allocate_uid(InUse in_use) const {
        for (uid_t uid = kFirstAppUid; uid <= kLastAppUid; ++uid) {
            if (!holds(uid) && !in_use(uid)) return uid;
        }
        return fail(ErrorCode::too_large, "every app uid from 600000 to 609999 is taken");
    }

private:
    explicit Registry(std::string path) : path_(std::move(path)) {}
    [[nodiscard]] bool holds(uid_t uid) const;

    std::string path_;
    std::vector<AppRecord> records_;
};

}  // namespace bulkhead::apps
