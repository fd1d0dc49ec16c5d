#include "permissions/grants.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::permissions {

namespace {

constexpr std::size_t kMaxGrantsBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxGrants = 1024;
constexpr std::string_view kFormat = "bulkhead-grants/1";

bool by_text(const Permission& left, const Permission& right) {
    return format_permission(left) < format_permission(right);
}

}  // namespace

Result<Grants> Grants::load(const std::string& grants_dir, const std::string& app) {
    Grants grants(concat({grants_dir, "/", app, ".json"}), app);
    struct stat info {};
    if (::stat(grants.path_.c_str(), &info) != 0) {
        if (errno == ENOENT) return grants;
        return fail(Error::from_errno(errno, "reading " + grants.path_));
    }
    auto text = read_file_bounded(grants.path_, kMaxGrantsBytes);
    if (!text) return fail(text.error());
    const std::string damaged = concat({"the grants of ", app, " (", grants.path_, ") are damaged: "});
    auto document = json::parse(*text);
    if (!document || !document->is_object()) return fail(ErrorCode::parse, damaged + "not a JSON object");
    const json::Value* format = document->find("format");
    const json::Value* named = document->find("app");
    const json::Value* list = document->find("granted");
    if (format == nullptr || !format->is_string() || format->as_string() != kFormat || named == nullptr ||
        !named->is_string() || named->as_string() != app || list == nullptr || !list->is_array() ||
        list->as_array().size() > kMaxGrants || document->as_object().size() != 3) {
        return fail(ErrorCode::parse, damaged + "not a bulkhead-grants/1 document for this app");
    }
    for (const json::Value& item : list->as_array()) {
        if (!item.is_string()) return fail(ErrorCode::parse, damaged + "a grant is not a string");
        auto permission = parse_permission(item.as_string());
        if (!permission) return fail(ErrorCode::parse, damaged + permission.error().message);
        if (format_permission(*permission) != item.as_string() || grants.holds(*permission)) {
            return fail(ErrorCode::parse, damaged + "a grant is not canonical or is listed twice");
        }
        grants.granted_.push_back(std::move(*permission));
    }
    std::sort(grants.granted_.begin(), grants.granted_.end(), by_text);
    return grants;
}

bool Grants::holds(const Permission& permission) const {
    return std::find(granted_.begin(), granted_.end(), permission) != granted_.end();
}

Result<void> Grants::grant(const Permission& permission) {
    if (holds(permission)) {
        return fail(ErrorCode::invalid_argument, concat({app_, " has ", format_permission(permission), " already"}));
    }
    if (granted_.size() >= kMaxGrants) return fail(ErrorCode::too_large, app_ + " has 1024 grants already");
    std::vector<Permission> before = granted_;
    granted_.push_back(permission);
    std::sort(granted_.begin(), granted_.end(), by_text);
    if (auto saved = save(); !saved) {
        granted_ = std::move(before);
        return saved;
    }
    return {};
}

Result<void> Grants::revoke(const Permission& permission) {
    const auto found = std::find(granted_.begin(), granted_.end(), permission);
    if (found == granted_.end()) {
        return fail(ErrorCode::not_found, concat({app_, " does not have ", format_permission(permission)}));
    }
    std::vector<Permission> before = granted_;
    granted_.erase(found);
    if (auto saved = save(); !saved) {
        granted_ = std::move(before);
        return saved;
    }
    return {};
}

Result<void> Grants::save() const {
    json::Array list;
    for (const Permission& permission : granted_) list.push_back(json::Value(format_permission(permission)));
    const json::Value document(json::Object{{"format", json::Value(std::string(kFormat))},
                                            {"app", json::Value(app_)},
                                            {"granted", json::Value(std::move(list))}});
    return write_file_atomically(path_, json::to_json(document) + "\n", 0600);
}

}  // namespace bulkhead::permissions
