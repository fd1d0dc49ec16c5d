// The table-load request's bytes (this host has no device-mapper; the initrd boot test makes a
// real verity device from them).
#include "devmapper/devmapper.hpp"

#include <linux/dm-ioctl.h>

#include <cstring>

#include <gtest/gtest.h>

namespace bulkhead::devmapper {
namespace {

TEST(DeviceMapper, TheTableLoadRequestIsLaidOutAsTheKernelReadsIt) {
    const Target target{2048, "verity", "1 /dev/vda2 /dev/vda3 4096 4096 256 1 sha256 ab cd"};
    auto request = table_load_request("bulkhead-root", target);
    ASSERT_TRUE(request) << request.error().message;
    ASSERT_EQ(request->size() % 8, 0U);
    dm_ioctl header{};
    std::memcpy(&header, request->data(), sizeof header);
    EXPECT_EQ(header.version[0], 4U);
    EXPECT_EQ(header.data_size, request->size());
    EXPECT_EQ(header.data_start, sizeof(dm_ioctl));
    EXPECT_EQ(header.target_count, 1U);
    EXPECT_EQ(header.flags, static_cast<std::uint32_t>(DM_READONLY_FLAG));
    EXPECT_STREQ(header.name, "bulkhead-root");
    dm_target_spec spec{};
    std::memcpy(&spec, request->data() + sizeof header, sizeof spec);
    EXPECT_EQ(spec.sector_start, 0U);
    EXPECT_EQ(spec.length, 2048U);
    EXPECT_EQ(spec.next, 0U);
    EXPECT_STREQ(spec.target_type, "verity");
    EXPECT_STREQ(request->data() + sizeof header + sizeof spec, target.parameters.c_str());
}

TEST(DeviceMapper, BadRequestsAreRefused) {
    EXPECT_FALSE(table_load_request("", {8, "verity", "x"}));
    EXPECT_FALSE(table_load_request("a/b", {8, "verity", "x"}));
    EXPECT_FALSE(table_load_request(std::string(128, 'n'), {8, "verity", "x"}));
    EXPECT_FALSE(table_load_request("ok", {0, "verity", "x"}));
    EXPECT_FALSE(table_load_request("ok", {8, "", "x"}));
    EXPECT_FALSE(table_load_request("ok", {8, "verity", std::string("a\0b", 3)}));
    EXPECT_FALSE(table_load_request("ok", {8, "verity", std::string(5000, 'p')}));
    EXPECT_FALSE(create_read_only_device("/nonexistent/control", "ok", {8, "verity", "x"}));
}

}  // namespace
}  // namespace bulkhead::devmapper
