#include "json/value.hpp"

#include <algorithm>

namespace bulkhead::json {

const Value* Value::find(std::string_view key) const {
    if (!is_object()) return nullptr;
    const Object& members = as_object();
    const auto it =
        std::lower_bound(members.begin(), members.end(), key,
                         [](const Member& member, std::string_view wanted) { return member.first < wanted; });
    if (it == members.end() || it->first != key) return nullptr;
    return &it->second;
}

const std::string* sort_members(Object& members) {
    std::sort(members.begin(), members.end(),
              [](const Member& left, const Member& right) { return left.first < right.first; });
    const auto duplicate =
        std::adjacent_find(members.begin(), members.end(),
                           [](const Member& left, const Member& right) { return left.first == right.first; });
    return duplicate == members.end() ? nullptr : &duplicate->first;
}

std::string_view kind_name(Kind kind) noexcept {
    switch (kind) {
        case Kind::null: return "null";
        case Kind::boolean: return "boolean";
        case Kind::integer: return "integer";
        case Kind::number_text: return "number";
        case Kind::string: return "string";
        case Kind::array: return "array";
        case Kind::object: return "object";
    }
    return "value";
}

}  // namespace bulkhead::json
