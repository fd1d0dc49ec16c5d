// Result<T>: a value or an Error, shaped like std::expected<T, Error>.
//
// g++ 12 has std::expected, but clang 14 (used for clang-tidy and libFuzzer builds) cannot
// compile libstdc++'s <expected>, so the project carries this small equivalent. Accessing the
// value of a failed Result is a programming error and aborts; errors never travel as exceptions.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "base/error.hpp"

namespace bulkhead {

// Wraps an Error so that it converts into any Result<T>; the analogue of std::unexpected.
struct Failure {
    Error error;
};

[[nodiscard]] inline Failure fail(ErrorCode code, std::string message) {
    return Failure{Error{code, std::move(message)}};
}
[[nodiscard]] inline Failure fail(Error error) { return Failure{std::move(error)}; }

namespace detail {
[[noreturn]] inline void bad_result_access(const Error& error) {
    (void)std::fprintf(stderr, "bulkhead: internal error: value of a failed Result accessed: %s\n",
                       error.message.c_str());
    std::abort();
}
[[noreturn]] inline void bad_error_access() {
    (void)std::fputs("bulkhead: internal error: error of a successful Result accessed\n", stderr);
    std::abort();
}
}  // namespace detail

template <typename T>
class [[nodiscard]] Result {
    static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
    static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "use Result<void> for errors");

public:
    using value_type = T;

    template <typename U = T>
    requires std::is_constructible_v<T, U&&> &&
        (!std::is_same_v<std::remove_cvref_t<U>, Result>)&&(!std::is_same_v<std::remove_cvref_t<U>, Failure>)
        // The requires-clause excludes Result and Failure, so copy and move are not hidden;
        // clang-tidy 14 does not read requires-clauses.
        // NOLINTNEXTLINE(bugprone-forwarding-reference-overload)
        Result(U&& value)  // NOLINT(google-explicit-constructor): implicit like std::expected
        : state_(std::in_place_index<0>, std::forward<U>(value)) {}

    Result(Failure failure)  // NOLINT(google-explicit-constructor)
        : state_(std::in_place_index<1>, std::move(failure.error)) {}

    [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    [[nodiscard]] T& value() & {
        if (!has_value()) detail::bad_result_access(std::get<1>(state_));
        return std::get<0>(state_);
    }
    [[nodiscard]] const T& value() const& {
        if (!has_value()) detail::bad_result_access(std::get<1>(state_));
        return std::get<0>(state_);
    }
    [[nodiscard]] T&& value() && {
        if (!has_value()) detail::bad_result_access(std::get<1>(state_));
        return std::get<0>(std::move(state_));
    }

    [[nodiscard]] const Error& error() const& {
        if (has_value()) detail::bad_error_access();
        return std::get<1>(state_);
    }
    [[nodiscard]] Error&& error() && {
        if (has_value()) detail::bad_error_access();
        return std::get<1>(std::move(state_));
    }

    template <typename U>
    [[nodiscard]] T value_or(U&& fallback) const& {
        return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
    }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Failure failure)  // NOLINT(google-explicit-constructor)
        : error_(std::move(failure.error)), failed_(true) {}

    [[nodiscard]] bool has_value() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return has_value(); }

    [[nodiscard]] const Error& error() const& {
        if (!failed_) detail::bad_error_access();
        return error_;
    }

private:
    Error error_{ErrorCode::internal, {}};
    bool failed_ = false;
};

}  // namespace bulkhead
