// The permission side of bulkheadd's API: listing, granting and revoking an app's permissions,
// reading the audit log, and deciding what an app VM gets when it starts. Every decision,
// allowed or refused, is appended to the audit log before it is answered; a change that cannot
// be audited is undone.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "apps/definition.hpp"
#include "base/result.hpp"
#include "json/value.hpp"
#include "permissions/audit.hpp"
#include "permissions/permission.hpp"

namespace bulkhead::manager {

struct PermissionStore {
    std::string grants_dir;  // STATE/grants
    std::string audit_log;   // STATE/audit.log
    // Never shared with files grants: STATE, RUNTIME, and what every app VM is made of.
    std::vector<std::string> protected_dirs;

    static PermissionStore under(const std::string& state_dir, std::vector<std::string> protected_dirs);
};

// What a grant or revoke request names.
struct PermissionChange {
    std::string app;
    std::string text;  // as the caller wrote it
    bool force = false;
    uid_t actor = 0;
};

// Granted permissions, and the kinds the app requests of which nothing is granted.
Result<json::Object> describe_permissions(const PermissionStore& store, const apps::AppDefinition& definition);

// Grants `change.text` to the app, after checking that it parses, that this build enforces its
// kind, and that the app requests it (unless forced). Returns the permission granted.
Result<permissions::Permission> grant_permission(const PermissionStore& store, const apps::AppDefinition& definition,
                                                 const PermissionChange& change);
Result<permissions::Permission> revoke_permission(const PermissionStore& store, const PermissionChange& change);

// The app is being removed: its grants go first (audited as revoked), so nothing installed
// later under the same name inherits them. A grants file that cannot be removed refuses the
// removal.
Result<void> forget_grants(const PermissionStore& store, const std::string& app, uid_t actor);

// Records a request refused before it reached the grant store (a caller without the right).
void audit_refusal(const PermissionStore& store, const std::string& app, uid_t actor, const std::string& action,
                   const std::string& reason);

// What a VM of the app gets, re-checked at every start: the grants as stored, each of a kind
// this build enforces (a damaged grants file or one this build cannot honour refuses the start).
Result<std::vector<permissions::Permission>> permissions_for_start(const PermissionStore& store,
                                                                   const std::string& app);

// Records a start: allowed with the permissions the VM got, or refused with the reason. A start
// that cannot be recorded must not go ahead, so a failure here is returned.
Result<void> audit_start(const PermissionStore& store, const std::string& app, uid_t actor,
                         const std::vector<permissions::Permission>& granted, const Error* refusal);

Result<json::Array> read_audit_entries(const PermissionStore& store, const permissions::AuditFilter& filter);

}  // namespace bulkhead::manager
