#include "base/result.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace bulkhead {
namespace {

Result<int> parse_positive(int value) {
    if (value <= 0) return fail(ErrorCode::invalid_argument, "not positive: " + std::to_string(value));
    return value;
}

TEST(Result, HoldsValue) {
    const Result<int> result = parse_positive(7);
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(static_cast<bool>(result));
    EXPECT_EQ(*result, 7);
    EXPECT_EQ(result.value_or(3), 7);
}

TEST(Result, HoldsError) {
    const Result<int> result = parse_positive(-2);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(result.error().message, "not positive: -2");
    EXPECT_EQ(result.value_or(3), 3);
}

TEST(Result, MovesOnlyTypes) {
    Result<std::unique_ptr<int>> result = std::make_unique<int>(5);
    ASSERT_TRUE(result);
    const std::unique_ptr<int> taken = std::move(result).value();
    EXPECT_EQ(*taken, 5);
}

TEST(Result, VoidSuccessAndFailure) {
    const Result<void> ok;
    EXPECT_TRUE(ok.has_value());
    const Result<void> failed = fail(ErrorCode::io, "disk on fire");
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().code, ErrorCode::io);
}

TEST(Result, ValueOfFailureAborts) {
    const Result<int> result = parse_positive(0);
    EXPECT_DEATH({ (void)result.value(); }, "value of a failed Result accessed: not positive: 0");
}

TEST(Result, ErrorOfSuccessAborts) {
    const Result<int> result = parse_positive(1);
    EXPECT_DEATH({ (void)result.error(); }, "error of a successful Result accessed");
}

}  // namespace
}  // namespace bulkhead
