#include "manager/permission_requests.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/text.hpp"
#include "manager/file_shares.hpp"
#include "permissions/grants.hpp"

namespace bulkhead::manager {

namespace {

using permissions::AuditEntry;
using permissions::Permission;

std::vector<std::string> texts(const std::vector<Permission>& list) {
    std::vector<std::string> out;
    out.reserve(list.size());
    for (const Permission& permission : list) out.push_back(permissions::format_permission(permission));
    return out;
}

json::Value text_array(const std::vector<std::string>& items) {
    json::Array array;
    for (const std::string& item : items) array.emplace_back(item);
    return json::Value(std::move(array));
}

Error not_available(permissions::Kind kind) {
    return {
        ErrorCode::unsupported,
        concat({"'", permissions::kind_name(kind),
                "' is not available yet: this build cannot enforce it, so it is not granted (docs/PERMISSIONS.md)"})};
}

// Appends `entry`; if that fails, `undo` restores what the change did, and the failure is returned.
template <typename Undo>
Result<void> audit_or_undo(const PermissionStore& store, AuditEntry entry, Undo undo) {
    auto written = permissions::append_audit(store.audit_log, std::move(entry));
    if (written) return {};
    undo();
    return fail(ErrorCode::io, "the change was undone because it could not be audited: " + written.error().message);
}

Result<Permission> refuse(const PermissionStore& store, const PermissionChange& change, const std::string& action,
                          const std::vector<std::string>& permission_texts, const Error& error) {
    (void)permissions::append_audit(
        store.audit_log, AuditEntry{"", change.app, change.actor, action, "refused", permission_texts, error.message});
    return fail(error);
}

}  // namespace

PermissionStore PermissionStore::under(const std::string& state_dir, std::vector<std::string> protected_dirs) {
    protected_dirs.push_back(state_dir);
    return {state_dir + "/grants", state_dir + "/audit.log", std::move(protected_dirs)};
}

Result<json::Object> describe_permissions(const PermissionStore& store, const apps::AppDefinition& definition) {
    auto grants = permissions::Grants::load(store.grants_dir, definition.name);
    if (!grants) return fail(grants.error());
    std::vector<std::string> not_granted;
    for (const permissions::Kind kind : definition.requested) {
        const bool any = std::any_of(grants->granted().begin(), grants->granted().end(),
                                     [&](const Permission& permission) { return permission.kind == kind; });
        if (!any) not_granted.emplace_back(permissions::kind_name(kind));
    }
    return json::Object{{"name", json::Value(definition.name)},
                        {"granted", text_array(texts(grants->granted()))},
                        {"requested_not_granted", text_array(not_granted)}};
}

Result<Permission> grant_permission(const PermissionStore& store, const apps::AppDefinition& definition,
                                    const PermissionChange& change) {
    auto permission = permissions::parse_permission(change.text);
    if (!permission) return refuse(store, change, "grant", {}, permission.error());
    const std::vector<std::string> canonical{permissions::format_permission(*permission)};
    if (!permissions::enforceable(permission->kind)) {
        return refuse(store, change, "grant", canonical, not_available(permission->kind));
    }
    if (permission->kind == permissions::Kind::network && permission->host.starts_with('[')) {
        return refuse(store, change, "grant", canonical,
                      {ErrorCode::unsupported, "IPv6 destinations are not available yet: app VMs have IPv4 only"});
    }
    if (permission->kind == permissions::Kind::files) {
        if (auto shared = open_shared_directory(permission->path, permission->writable, store.protected_dirs);
            !shared) {
            return refuse(store, change, "grant", canonical, shared.error());
        }
    }
    if (!change.force && !definition.requested.contains(permission->kind)) {
        return refuse(store, change, "grant", canonical,
                      {ErrorCode::permission_denied,
                       concat({definition.name, " does not request '", permissions::kind_name(permission->kind),
                               "' in its definition; grant it anyway only with --force"})});
    }
    auto grants = permissions::Grants::load(store.grants_dir, change.app);
    if (!grants) return refuse(store, change, "grant", canonical, grants.error());
    if (permission->kind == permissions::Kind::files &&
        std::count_if(grants->granted().begin(), grants->granted().end(), [](const Permission& held) {
            return held.kind == permissions::Kind::files;
        }) >= static_cast<std::ptrdiff_t>(kMaxShares)) {
        return refuse(store, change, "grant", canonical,
                      {ErrorCode::too_large, "an app VM has at most 16 shared directories"});
    }
    if (auto granted = grants->grant(*permission); !granted) {
        return refuse(store, change, "grant", canonical, granted.error());
    }
    auto audited = audit_or_undo(store, AuditEntry{"", change.app, change.actor, "grant", "allowed", canonical, ""},
                                 [&] { (void)grants->revoke(*permission); });
    if (!audited) return fail(audited.error());
    return *permission;
}

Result<Permission> revoke_permission(const PermissionStore& store, const PermissionChange& change) {
    auto permission = permissions::parse_permission(change.text);
    if (!permission) return refuse(store, change, "revoke", {}, permission.error());
    const std::vector<std::string> canonical{permissions::format_permission(*permission)};
    auto grants = permissions::Grants::load(store.grants_dir, change.app);
    if (!grants) return refuse(store, change, "revoke", canonical, grants.error());
    if (auto revoked = grants->revoke(*permission); !revoked) {
        return refuse(store, change, "revoke", canonical, revoked.error());
    }
    auto audited = audit_or_undo(store, AuditEntry{"", change.app, change.actor, "revoke", "allowed", canonical, ""},
                                 [&] { (void)grants->grant(*permission); });
    if (!audited) return fail(audited.error());
    return *permission;
}

Result<void> forget_grants(const PermissionStore& store, const std::string& app, uid_t actor) {
    const std::string path = concat({store.grants_dir, "/", app, ".json"});
    if (::access(path.c_str(), F_OK) != 0) return {};
    auto grants = permissions::Grants::load(store.grants_dir, app);
    const std::vector<std::string> held = grants ? texts(grants->granted()) : std::vector<std::string>();
    if (auto audited = permissions::append_audit(
            store.audit_log,
            AuditEntry{"", app, actor, "revoke", "allowed", held,
                       grants ? "the app is removed" : "the app is removed (its grants were damaged)"});
        !audited) {
        return fail(audited.error());
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(Error::from_errno(errno, "removing " + path));
    return {};
}

void audit_refusal(const PermissionStore& store, const std::string& app, uid_t actor, const std::string& action,
                   const std::string& reason) {
    (void)permissions::append_audit(store.audit_log, AuditEntry{"", app, actor, action, "refused", {}, reason});
}

Result<std::vector<Permission>> permissions_for_start(const PermissionStore& store, const std::string& app) {
    auto grants = permissions::Grants::load(store.grants_dir, app);
    if (!grants) return fail(grants.error());
    for (const Permission& permission : grants->granted()) {
        if (!permissions::enforceable(permission.kind)) {
            return fail(ErrorCode::unsupported,
                        concat({"the grant '", permissions::format_permission(permission),
                                "' cannot be enforced by this build; revoke it to start ", app}));
        }
    }
    return grants->granted();
}

Result<void> audit_start(const PermissionStore& store, const std::string& app, uid_t actor,
                         const std::vector<Permission>& granted, const Error* refusal) {
    return permissions::append_audit(
        store.audit_log, AuditEntry{"", app, actor, "start", refusal == nullptr ? "allowed" : "refused", texts(granted),
                                    refusal == nullptr ? "" : refusal->message});
}

Result<json::Array> read_audit_entries(const PermissionStore& store, const permissions::AuditFilter& filter) {
    auto entries = permissions::read_audit(store.audit_log, filter);
    if (!entries) return fail(entries.error());
    json::Array out;
    for (const AuditEntry& entry : *entries) {
        json::Object object{{"action", json::Value(entry.action)},
                            {"actor_uid", json::Value(static_cast<std::int64_t>(entry.actor))},
                            {"app", json::Value(entry.app)},
                            {"decision", json::Value(entry.decision)},
                            {"permissions", text_array(entry.permissions)},
                            {"time", json::Value(entry.time)}};
        if (!entry.reason.empty()) object.emplace_back("reason", json::Value(entry.reason));
        out.emplace_back(std::move(object));
    }
    return out;
}

}  // namespace bulkhead::manager
