#include "permissions/kinds.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace bulkhead::permissions {
namespace {

TEST(PermissionKinds, NamesRoundTripAndAreDistinct) {
    std::set<std::string_view> names;
    for (const Kind kind : kAllKinds) {
        EXPECT_EQ(kind_from_name(kind_name(kind)), kind);
        EXPECT_TRUE(names.insert(kind_name(kind)).second);
    }
    EXPECT_EQ(names.size(), 7U);
    EXPECT_FALSE(kind_from_name("root"));
    EXPECT_FALSE(kind_from_name("Network"));
    EXPECT_FALSE(kind_from_name(""));
}

}  // namespace
}  // namespace bulkhead::permissions
