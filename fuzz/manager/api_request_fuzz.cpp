// Fuzzes bulkheadd's request parser: anything a local user sends may be refused, never crash;
// an accepted request names a known op and, where it needs one, a valid app name; a grant or
// revoke carries a permission; an audit filter by app names a valid app.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "apps/definition.hpp"
#include "manager/api.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace bulkhead;
    auto request = manager::parse_request(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!request) return 0;
    const bool needs_name =
        request->op != manager::Op::list && request->op != manager::Op::add && request->op != manager::Op::audit;
    if (needs_name && !apps::check_app_name(request->name)) std::abort();
    if ((request->op == manager::Op::grant || request->op == manager::Op::revoke) && request->permission.empty()) {
        std::abort();
    }
    if (request->app && !apps::check_app_name(*request->app)) std::abort();
    if (request->op == manager::Op::add && (request->definition.empty() || request->definition.front() != '/')) {
        std::abort();
    }
    return 0;
}
