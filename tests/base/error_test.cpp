#include "base/error.hpp"

#include <cerrno>

#include <gtest/gtest.h>

namespace bulkhead {
namespace {

TEST(Error, FromErrnoPicksCodeAndKeepsContext) {
    const Error missing = Error::from_errno(ENOENT, "opening /x");
    EXPECT_EQ(missing.code, ErrorCode::not_found);
    EXPECT_EQ(missing.message, "opening /x: No such file or directory");
    EXPECT_EQ(Error::from_errno(EACCES, "a").code, ErrorCode::permission_denied);
    EXPECT_EQ(Error::from_errno(EIO, "a").code, ErrorCode::io);
}

TEST(Error, CodeNamesAreStable) {
    EXPECT_EQ(error_code_name(ErrorCode::parse), "parse");
    EXPECT_EQ(error_code_name(ErrorCode::too_large), "too_large");
    EXPECT_EQ(error_code_name(ErrorCode::not_found), "not_found");
}

}  // namespace
}  // namespace bulkhead
