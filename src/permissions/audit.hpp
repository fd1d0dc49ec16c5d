// The audit log: every grant, revoke, VM start (with the permissions it got) and every refusal
// bulkheadd can observe, one JSON object per line ("bulkhead-audit/1"), appended and synced
// before the action it records is answered. The file is root's alone (0600).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::permissions {

struct AuditEntry {
    std::string time;  // UTC, RFC 3339 with seconds ("2026-11-27T12:34:56Z")
    std::string app;
    uid_t actor = 0;                       // who asked (peer credentials), 0 for bulkheadd itself
    std::string action;                    // grant, revoke, start, denied
    std::string decision;                  // allowed, refused
    std::vector<std::string> permissions;  // canonical texts
    std::string reason;                    // why, for refusals
};

// Appends one entry (its time is set to now when empty) and fsyncs the file.
Result<void> append_audit(const std::string& path, AuditEntry entry);

struct AuditFilter {
    std::optional<std::string> app;
    std::optional<std::string> action;
    std::optional<std::string> since;  // entries at or after this RFC 3339 time
};

// Reads the log; a damaged line is an error naming its number.
Result<std::vector<AuditEntry>> read_audit(const std::string& path, const AuditFilter& filter = {});

std::string audit_line(const AuditEntry& entry);

}  // namespace bulkhead::permissions
