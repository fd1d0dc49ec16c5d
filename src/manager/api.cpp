#include "manager/api.hpp"

#include <array>
#include <utility>

#include "apps/definition.hpp"
#include "base/text.hpp"
#include "json/parse.hpp"

namespace bulkhead::manager {

namespace {

constexpr std::array<std::pair<std::string_view, Op>, 11> kOps = {{{"list", Op::list},
                                                                   {"add", Op::add},
                                                                   {"remove", Op::remove},
                                                                   {"start", Op::start},
                                                                   {"stop", Op::stop},
                                                                   {"status", Op::status},
                                                                   {"logs", Op::logs},
                                                                   {"permissions", Op::permissions},
                                                                   {"grant", Op::grant},
                                                                   {"revoke", Op::revoke},
                                                                   {"audit", Op::audit}}};
constexpr std::size_t kMaxPathBytes = 4096;

Failure bad(const std::string& what) { return fail(ErrorCode::invalid_argument, what); }

}  // namespace

std::string_view op_name(Op op) noexcept {
    for (const auto& [name, value] : kOps) {
        if (value == op) return name;
    }
    return "list";
}

bool allowed_for_desktop_users(Op op) noexcept { return op != Op::add && op != Op::remove && op != Op::grant; }

namespace {

bool names_an_app(Op op) noexcept { return op != Op::list && op != Op::add && op != Op::audit; }

Result<std::optional<std::string>> optional_text(const json::Value& document, const char* key, std::size_t max_bytes) {
    const json::Value* value = document.find(key);
    if (value == nullptr) return std::optional<std::string>();
    if (!value->is_string() || value->as_string().empty() || value->as_string().size() > max_bytes) {
        return bad(concat({"\"", key, "\" must be a string of 1 to ", std::to_string(max_bytes), " bytes"}));
    }
    return std::optional<std::string>(value->as_string());
}

}  // namespace

Result<Request> parse_request(std::string_view line) {
    json::ParseLimits limits;
    limits.max_bytes = 65536;
    limits.max_depth = 4;
    auto document = json::parse(line, limits);
    if (!document || !document->is_object()) return fail(ErrorCode::parse, "a request is one JSON object per line");
    const json::Value* api = document->find("api");
    if (api == nullptr || !api->is_string() || api->as_string() != kApiVersion) {
        return fail(ErrorCode::unsupported, R"(requests must say "api": "bulkhead.api/1")");
    }
    const json::Value* op = document->find("op");
    if (op == nullptr || !op->is_string()) return bad("no \"op\"");
    Request request;
    bool known = false;
    for (const auto& [name, value] : kOps) {
        if (name == op->as_string()) {
            request.op = value;
            known = true;
        }
    }
    if (!known) return bad("unknown op '" + op->as_string() + "'");
    for (const auto& [key, value] : document->as_object()) {
        const bool is_change = request.op == Op::grant || request.op == Op::revoke;
        const bool expected = key == "api" || key == "op" || (key == "name" && names_an_app(request.op)) ||
                              ((key == "definition" || key == "replace") && request.op == Op::add) ||
                              (key == "purge" && request.op == Op::remove) || (key == "permission" && is_change) ||
                              (key == "force" && request.op == Op::grant) ||
                              ((key == "app" || key == "action" || key == "since") && request.op == Op::audit);
        if (!expected) return bad("\"" + key + "\" does not belong in a " + op->as_string() + " request");
    }
    if (names_an_app(request.op)) {
        const json::Value* name = document->find("name");
        if (name == nullptr || !name->is_string() || !apps::check_app_name(name->as_string())) {
            return bad("\"name\" must be an app name");
        }
        request.name = name->as_string();
    }
    if (request.op == Op::add) {
        const json::Value* path = document->find("definition");
        if (path == nullptr || !path->is_string() || path->as_string().empty() || path->as_string().front() != '/' ||
            path->as_string().size() > kMaxPathBytes || path->as_string().find('\0') != std::string::npos) {
            return bad("\"definition\" must be an absolute path");
        }
        request.definition = path->as_string();
    }
    if (const json::Value* purge = document->find("purge")) {
        if (!purge->is_bool()) return bad("\"purge\" must be true or false");
        request.purge = purge->as_bool();
    }
    if (const json::Value* replace = document->find("replace")) {
        if (!replace->is_bool()) return bad("\"replace\" must be true or false");
        request.replace = replace->as_bool();
    }
    if (const json::Value* force = document->find("force")) {
        if (!force->is_bool()) return bad("\"force\" must be true or false");
        request.force = force->as_bool();
    }
    if (request.op == Op::grant || request.op == Op::revoke) {
        auto permission = optional_text(*document, "permission", kMaxPathBytes + 64);
        if (!permission) return fail(permission.error());
        if (!*permission) return bad("no \"permission\"");
        request.permission = **permission;
    }
    if (request.op == Op::audit) {
        auto app = optional_text(*document, "app", 64);
        auto action = optional_text(*document, "action", 16);
        auto since = optional_text(*document, "since", 32);
        for (const auto* filter : {&app, &action, &since}) {
            if (!*filter) return fail(filter->error());
        }
        if (*app && !apps::check_app_name(**app)) return bad("\"app\" must be an app name");
        request.app = *app;
        request.action = *action;
        request.since = *since;
    }
    return request;
}

}  // namespace bulkhead::manager
