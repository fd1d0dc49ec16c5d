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
    EXPECT_EQ(names.size(), 9U);
    EXPECT_EQ(all_kind_names(), "network, expose-port, files, clipboard, display, audio-out, microphone, camera, usb");
    EXPECT_FALSE(kind_from_name("root"));
    EXPECT_FALSE(kind_from_name("Network"));
    EXPECT_FALSE(kind_from_name(""));
}

}  // namespace
}  // namespace bulkhead::permissions
