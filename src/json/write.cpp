#include "json/write.hpp"

#include "json/writer.hpp"

namespace bulkhead::json {

std::string to_json(const Value& value) {
    std::string out;
    (void)detail::append(value, out, detail::Style::plain);  // plain style accepts every value
    return out;
}

}  // namespace bulkhead::json
