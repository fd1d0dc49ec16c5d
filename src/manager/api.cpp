#include "manager/api.hpp"

#include <array>
#include <utility>

#include "apps/definition.hpp"
#include "json/parse.hpp"

namespace bulkhead::manager {

namespace {

constexpr std::array<std::pair<std::string_view, Op>, 7> kOps = {{{"list", Op::list},
                                                                  {"add", Op::add},
                                                                  {"remove", Op::remove},
                                                                  {"start", Op::start},
                                                                  {"stop", Op::stop},
                                                                  {"status", Op::status},
                                                                  {"logs", Op::logs}}};
constexpr std::size_t kMaxPathBytes = 4096;

Failure bad(const std::string& what) { return fail(ErrorCode::invalid_argument, what); }

}  // namespace

std::string_view op_name(Op op) noexcept {
    for (const auto& [name, value] : kOps) {
        if (value == op) return name;
    }
    return "list";
}

bool allowed_for_desktop_users(Op op) noexcept { return op != Op::add && op != Op::remove; }

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
        const bool expected =
            key == "api" || key == "op" || (key == "name" && request.op != Op::list && request.op != Op::add) ||
            (key == "definition" && request.op == Op::add) || (key == "purge" && request.op == Op::remove);
        if (!expected) return bad("\"" + key + "\" does not belong in a " + op->as_string() + " request");
    }
    if (request.op != Op::list && request.op != Op::add) {
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
    return request;
}

}  // namespace bulkhead::manager
