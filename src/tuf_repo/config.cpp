#include "tuf_repo/config.hpp"

#include <array>
#include <charconv>
#include <utility>

#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::tuf_repo {

namespace {

constexpr std::array<std::pair<std::string_view, tuf::RoleType>, 4> kRoles = {
    {{"root", tuf::RoleType::root},
     {"targets", tuf::RoleType::targets},
     {"snapshot", tuf::RoleType::snapshot},
     {"timestamp", tuf::RoleType::timestamp}}};

std::int64_t& days_of(ExpiryPolicy& policy, tuf::RoleType type) {
    switch (type) {
        case tuf::RoleType::root: return policy.root;
        case tuf::RoleType::targets: return policy.targets;
        case tuf::RoleType::snapshot: return policy.snapshot;
        case tuf::RoleType::timestamp: break;
    }
    return policy.timestamp;
}

Result<void> check_days(std::string_view role, std::int64_t days) {
    if (days < 1) {
        return fail(ErrorCode::invalid_argument, "expiry for " + std::string(role) + " must be at least 1 day; " +
                                                     "metadata that expires now or in the past is refused");
    }
    if (days > kMaxExpiryDays) {
        return fail(ErrorCode::invalid_argument,
                    "expiry for " + std::string(role) + " is more than " + std::to_string(kMaxExpiryDays) + " days");
    }
    return {};
}

Failure bad_config(const std::string& what) { return fail(ErrorCode::parse, "bulkhead-repo.json: " + what); }

}  // namespace

std::int64_t ExpiryPolicy::days(tuf::RoleType type) const noexcept {
    switch (type) {
        case tuf::RoleType::root: return root;
        case tuf::RoleType::targets: return targets;
        case tuf::RoleType::snapshot: return snapshot;
        case tuf::RoleType::timestamp: break;
    }
    return timestamp;
}

Result<void> ExpiryPolicy::set(std::string_view assignment) {
    const std::size_t equals = assignment.find('=');
    if (equals == std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "expiry '" + std::string(assignment) + "' is not ROLE=DAYS");
    }
    const std::string_view role = assignment.substr(0, equals);
    const std::string_view number = assignment.substr(equals + 1);
    std::int64_t days = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), days);
    if (error != std::errc() || end != number.data() + number.size() || number.empty()) {
        return fail(ErrorCode::invalid_argument,
                    "expiry '" + std::string(assignment) + "': DAYS is not a whole number");
    }
    for (const auto& [name, type] : kRoles) {
        if (name != role) continue;
        if (auto checked = check_days(role, days); !checked) return checked;
        days_of(*this, type) = days;
        return {};
    }
    return fail(ErrorCode::invalid_argument,
                "expiry '" + std::string(assignment) + "': the role must be root, targets, snapshot or timestamp");
}

Result<RepoConfig> parse_config(std::string_view bytes) {
    auto document = json::parse(bytes);
    if (!document) return bad_config(document.error().message);
    if (!document->is_object() || document->as_object().size() != 2) {
        return bad_config("expected exactly the members 'format' and 'expiry_days'");
    }
    const json::Value* format = document->find("format");
    if (format == nullptr || !format->is_string() || format->as_string() != kConfigFormat) {
        return bad_config("'format' is not \"" + std::string(kConfigFormat) + "\"");
    }
    const json::Value* expiry = document->find("expiry_days");
    if (expiry == nullptr || !expiry->is_object() || expiry->as_object().size() != kRoles.size()) {
        return bad_config("'expiry_days' must list root, targets, snapshot and timestamp");
    }
    RepoConfig config;
    for (const auto& [name, type] : kRoles) {
        const json::Value* days = expiry->find(name);
        if (days == nullptr || !days->is_integer()) return bad_config("expiry_days." + std::string(name) + " missing");
        if (auto checked = check_days(name, days->as_integer()); !checked) return bad_config(checked.error().message);
        days_of(config.expiry, type) = days->as_integer();
    }
    return config;
}

std::string write_config(const RepoConfig& config) {
    json::Object days;
    for (const auto& [name, type] : kRoles) days.emplace_back(std::string(name), json::Value(config.expiry.days(type)));
    (void)json::sort_members(days);
    json::Object document{{"expiry_days", json::Value(std::move(days))},
                          {"format", json::Value(std::string(kConfigFormat))}};
    return json::to_json(json::Value(std::move(document))) + "\n";
}

}  // namespace bulkhead::tuf_repo
