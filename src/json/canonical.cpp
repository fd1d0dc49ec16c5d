#include "json/canonical.hpp"

#include "json/writer.hpp"

namespace bulkhead::json {

Result<void> append_canonical(const Value& value, std::string& out) {
    return detail::append(value, out, detail::Style::canonical);
}

Result<std::string> canonical(const Value& value) {
    std::string out;
    if (auto appended = append_canonical(value, out); !appended) return fail(appended.error());
    return out;
}

}  // namespace bulkhead::json
