#include "hcl/check.hpp"

namespace bulkhead::hcl {

std::string_view status_name(Status status) noexcept {
    switch (status) {
        case Status::pass: return "pass";
        case Status::fail: return "fail";
        case Status::unknown: return "unknown";
    }
    return "unknown";
}

}  // namespace bulkhead::hcl
