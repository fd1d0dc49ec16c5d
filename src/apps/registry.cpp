#include "apps/registry.hpp"

#include <algorithm>

#include "apps/definition.hpp"
#include "base/file_io.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::apps {

namespace {

constexpr std::string_view kFormat = "bulkhead-apps/1";
constexpr std::size_t kMaxRegistryBytes = std::size_t{16} << 20;

Failure bad(const std::string& path, const std::string& what) { return fail(ErrorCode::parse, path + ": " + what); }

}  // namespace

std::string host_user_name(const std::string& app) { return "bh-" + app; }

Result<Registry> Registry::load(const std::string& state_dir) {
    Registry registry(state_dir + "/registry.json");
    auto bytes = read_file_bounded(registry.path_, kMaxRegistryBytes);
    if (!bytes) {
        if (bytes.error().code == ErrorCode::not_found) return registry;
        return fail(bytes.error());
    }
    auto document = json::parse(*bytes);
    if (!document) return bad(registry.path_, document.error().message);
    const json::Value* format = document->find("format");
    const json::Value* apps = document->find("apps");
    if (format == nullptr || !format->is_string() || format->as_string() != kFormat || apps == nullptr ||
        !apps->is_array()) {
        return bad(registry.path_, "not a bulkhead-apps/1 registry");
    }
    for (const json::Value& entry : apps->as_array()) {
        const json::Value* name = entry.find("name");
        const json::Value* uid = entry.find("uid");
        const json::Value* version = entry.find("version");
        const json::Value* state = entry.find("state");
        if (name == nullptr || !name->is_string() || !check_app_name(name->as_string()) || uid == nullptr ||
            !uid->is_integer() || uid->as_integer() < kFirstAppUid || uid->as_integer() > kLastAppUid ||
            version == nullptr || !version->is_string() || state == nullptr || !state->is_string() ||
            (state->as_string() != "installed" && state->as_string() != "removed")) {
            return bad(registry.path_, "an app entry is malformed");
        }
        AppRecord record{name->as_string(), static_cast<uid_t>(uid->as_integer()), version->as_string(),
                         state->as_string() == "installed" ? InstallState::installed : InstallState::removed};
        if (registry.find(record.name) != nullptr || registry.holds(record.uid)) {
            return bad(registry.path_, "app " + record.name + " or its uid appears twice");
        }
        registry.records_.push_back(std::move(record));
    }
    return registry;
}

Result<void> Registry::save() const {
    json::Array apps;
    for (const AppRecord& record : records_) {
        json::Object entry{
            {"name", json::Value(record.name)},
            {"state", json::Value(std::string(record.state == InstallState::installed ? "installed" : "removed"))},
            {"uid", json::Value(static_cast<std::int64_t>(record.uid))},
            {"version", json::Value(record.version)}};
        (void)json::sort_members(entry);
        apps.emplace_back(std::move(entry));
    }
    json::Object document{{"apps", json::Value(std::move(apps))}, {"format", json::Value(std::string(kFormat))}};
    return write_file_atomically(path_, json::to_json(json::Value(std::move(document))) + "\n", 0600);
}

const AppRecord* Registry::find(const std::string& name) const {
    const auto found = std::find_if(records_.begin(), records_.end(),
                                    [&name](const AppRecord& record) { return record.name == name; });
    return found == records_.end() ? nullptr : &*found;
}

AppRecord* Registry::find(const std::string& name) {
    const auto found = std::find_if(records_.begin(), records_.end(),
                                    [&name](const AppRecord& record) { return record.name == name; });
    return found == records_.end() ? nullptr : &*found;
}

void Registry::put(AppRecord record) {
    if (AppRecord* existing = find(record.name)) {
        *existing = std::move(record);
        return;
    }
    records_.push_back(std::move(record));
    std::sort(records_.begin(), records_.end(),
              [](const AppRecord& left, const AppRecord& right) { return left.name < right.name; });
}

void Registry::erase(const std::string& name) {
    std::erase_if(records_, [&name](const AppRecord& record) { return record.name == name; });
}

bool Registry::holds(uid_t uid) const {
    return std::any_of(records_.begin(), records_.end(), [uid](const AppRecord& record) { return record.uid == uid; });
}

}  // namespace bulkhead::apps
