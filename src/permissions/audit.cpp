#include "permissions/audit.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::permissions {

namespace {

constexpr std::size_t kMaxAuditBytes = std::size_t{256} << 20;

std::string now_utc() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::array<char, 32> text{};
    const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return {text.data(), length};
}

const std::string* text_member(const json::Value& object, std::string_view key) {
    const json::Value* value = object.find(key);
    return value != nullptr && value->is_string() ? &value->as_string() : nullptr;
}

}  // namespace

std::string audit_line(const AuditEntry& entry) {
    json::Array permissions;
    for (const std::string& permission : entry.permissions) permissions.push_back(json::Value(permission));
    json::Object object{{"format", json::Value(std::string("bulkhead-audit/1"))},
                        {"time", json::Value(entry.time)},
                        {"app", json::Value(entry.app)},
                        {"actor_uid", json::Value(static_cast<std::int64_t>(entry.actor))},
                        {"action", json::Value(entry.action)},
                        {"decision", json::Value(entry.decision)},
                        {"permissions", json::Value(std::move(permissions))}};
    if (!entry.reason.empty()) object.emplace_back("reason", json::Value(valid_utf8(entry.reason)));
    return json::to_json(json::Value(std::move(object))) + "\n";
}

Result<void> append_audit(const std::string& path, AuditEntry entry) {
    if (entry.time.empty()) entry.time = now_utc();
    const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening the audit log " + path));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != ::geteuid() ||
        (info.st_mode & 077U) != 0) {
        return fail(ErrorCode::permission_denied, "the audit log " + path + " must be a private file of its writer");
    }
    // One write: O_APPEND keeps concurrent lines whole.
    if (auto written = write_all(fd.get(), audit_line(entry), path); !written) return written;
    if (::fsync(fd.get()) != 0) return fail(Error::from_errno(errno, "syncing the audit log " + path));
    return {};
}

Result<std::vector<AuditEntry>> read_audit(const std::string& path, const AuditFilter& filter) {
    std::vector<AuditEntry> entries;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 && errno == ENOENT) return entries;
    auto text = read_file_bounded(path, kMaxAuditBytes);
    if (!text) return fail(text.error());
    std::size_t start = 0;
    for (std::size_t number = 1; start < text->size(); ++number) {
        const std::size_t end = std::min(text->find('\n', start), text->size());
        const std::string_view line = std::string_view(*text).substr(start, end - start);
        start = end + 1;
        const std::string damaged = concat({path, ":", std::to_string(number), ": not an audit entry"});
        auto value = json::parse(line);
        if (!value || !value->is_object()) return fail(ErrorCode::parse, damaged);
        AuditEntry entry;
        const std::string* format = text_member(*value, "format");
        const json::Value* actor = value->find("actor_uid");
        const json::Value* permissions = value->find("permissions");
        const std::array<const std::string*, 4> fields = {text_member(*value, "time"), text_member(*value, "app"),
                                                          text_member(*value, "action"),
                                                          text_member(*value, "decision")};
        if (format == nullptr || *format != "bulkhead-audit/1" || actor == nullptr || !actor->is_integer() ||
            actor->as_integer() < 0 || permissions == nullptr || !permissions->is_array()) {
            return fail(ErrorCode::parse, damaged);
        }
        for (const std::string* field : fields) {
            if (field == nullptr) return fail(ErrorCode::parse, damaged);
        }
        entry.time = *fields[0];
        entry.app = *fields[1];
        entry.action = *fields[2];
        entry.decision = *fields[3];
        entry.actor = static_cast<uid_t>(actor->as_integer());
        for (const json::Value& permission : permissions->as_array()) {
            if (!permission.is_string()) return fail(ErrorCode::parse, damaged);
            entry.permissions.push_back(permission.as_string());
        }
        if (const std::string* reason = text_member(*value, "reason")) entry.reason = *reason;
        if (filter.app && entry.app != *filter.app) continue;
        if (filter.action && entry.action != *filter.action) continue;
        if (filter.since && entry.time < *filter.since) continue;  // RFC 3339 UTC sorts as text
        entries.push_back(std::move(entry));
    }
    return entries;
}

}  // namespace bulkhead::permissions
