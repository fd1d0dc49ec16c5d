// Requests of bulkheadd's API ("bulkhead.api/1", docs/API.md), parsed strictly from one line of
// a client's input: unknown members, wrong types and names that are not app names are refused
// before anything acts on them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::manager {

inline constexpr std::string_view kApiVersion = "bulkhead.api/1";

enum class Op { list, add, remove, start, stop, status, logs, permissions, grant, revoke, audit };
std::string_view op_name(Op op) noexcept;

struct Request {
    Op op = Op::list;
    std::string name;        // every op but list and add
    std::string definition;  // add: an absolute path
    bool replace = false;    // add: an installed app of that name gets the new image, keeping its data
    bool purge = false;      // remove
    std::string permission;  // grant, revoke: its text form, parsed by the daemon (which audits a refusal)
    bool force = false;      // grant: also a permission the app's definition does not request
    // audit: filters, each optional
    std::optional<std::string> app;
    std::optional<std::string> action;
    std::optional<std::string> since;
};

Result<Request> parse_request(std::string_view line);

// Whether a caller that is not root may make this request. Granting widens what an app may do,
// so, like installing, it needs root; revoking only narrows it.
bool allowed_for_desktop_users(Op op) noexcept;

}  // namespace bulkhead::manager
