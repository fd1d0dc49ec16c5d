// A JSON value as TUF needs it: exact integers, objects with unique keys kept in sorted
// order (the order canonical JSON needs), and no silent loss of information.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bulkhead::json {

class Value;

using Array = std::vector<Value>;
// Sorted by key (byte order, which for UTF-8 is code point order), keys unique.
using Member = std::pair<std::string, Value>;
using Object = std::vector<Member>;

// A number that is not an integer within int64: a fraction, an exponent, or a huge integer.
// Kept as its literal text; canonical JSON accepts only the integral ones.
struct NumberText {
    std::string literal;
    bool operator==(const NumberText&) const = default;
};

enum class Kind { null, boolean, integer, number_text, string, array, object };

class Value {
public:
    Value() = default;
    explicit Value(bool value) : data_(value) {}
    explicit Value(std::int64_t value) : data_(value) {}
    explicit Value(NumberText value) : data_(std::move(value)) {}
    explicit Value(std::string value) : data_(std::move(value)) {}
    explicit Value(Array value) : data_(std::move(value)) {}
    // `members` must be sorted and unique; use sort_members() otherwise.
    explicit Value(Object members) : data_(std::move(members)) {}

    [[nodiscard]] Kind kind() const noexcept { return static_cast<Kind>(data_.index()); }
    [[nodiscard]] bool is_null() const noexcept { return kind() == Kind::null; }
    [[nodiscard]] bool is_bool() const noexcept { return kind() == Kind::boolean; }
    [[nodiscard]] bool is_integer() const noexcept { return kind() == Kind::integer; }
    [[nodiscard]] bool is_string() const noexcept { return kind() == Kind::string; }
    [[nodiscard]] bool is_array() const noexcept { return kind() == Kind::array; }
    [[nodiscard]] bool is_object() const noexcept { return kind() == Kind::object; }

    // Accessors require the matching kind (check first); a mismatch is a programming error.
    [[nodiscard]] bool as_bool() const { return std::get<bool>(data_); }
    [[nodiscard]] std::int64_t as_integer() const { return std::get<std::int64_t>(data_); }
    [[nodiscard]] const NumberText& as_number_text() const { return std::get<NumberText>(data_); }
    [[nodiscard]] const std::string& as_string() const { return std::get<std::string>(data_); }
    [[nodiscard]] const Array& as_array() const { return std::get<Array>(data_); }
    [[nodiscard]] const Object& as_object() const { return std::get<Object>(data_); }
    [[nodiscard]] Array& as_array() { return std::get<Array>(data_); }
    [[nodiscard]] Object& as_object() { return std::get<Object>(data_); }

    // Member lookup in an object (binary search); nullptr if absent or not an object.
    [[nodiscard]] const Value* find(std::string_view key) const;

    bool operator==(const Value&) const = default;

private:
    std::variant<std::monostate, bool, std::int64_t, NumberText, std::string, Array, Object> data_;
};

// Sorts members by key. Returns a key that occurs more than once, or nullptr if keys are unique.
[[nodiscard]] const std::string* sort_members(Object& members);

// An object value from members in any order, for documents built in code; the keys must be
// unique (sort_members reports a repeated one, which is a programming error here).
[[nodiscard]] inline Value sorted_object(Object members) {
    (void)sort_members(members);
    return Value(std::move(members));
}

std::string_view kind_name(Kind kind) noexcept;

}  // namespace bulkhead::json
