// What the user has granted each app: STATE/grants/<app>.json ("bulkhead-grants/1"), the
// permissions in canonical text form, written atomically. No file means nothing is granted.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "permissions/permission.hpp"

namespace bulkhead::permissions {

class Grants {
public:
    // Reads an app's grants; a damaged file is an error (never read as "nothing granted" or
    // as anything else).
    static Result<Grants> load(const std::string& grants_dir, const std::string& app);

    [[nodiscard]] const std::vector<Permission>& granted() const noexcept { return granted_; }
    [[nodiscard]] bool holds(const Permission& permission) const;

    // Both refuse a change that would change nothing (granting twice, revoking what is not
    // granted) and write the file atomically.
    Result<void> grant(const Permission& permission);
    Result<void> revoke(const Permission& permission);

private:
    Grants(std::string path, std::string app) : path_(std::move(path)), app_(std::move(app)) {}
    [[nodiscard]] Result<void> save() const;

    std::string path_;
    std::string app_;
    std::vector<Permission> granted_;  // in canonical text order
};

}  // namespace bulkhead::permissions
