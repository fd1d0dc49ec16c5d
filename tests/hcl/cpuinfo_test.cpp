#include "hcl/cpuinfo.hpp"

#include <string>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace bulkhead::hcl {
namespace {

std::string block(int number, const std::string& flags, const std::string& extra = {}) {
    return "processor\t: " + std::to_string(number) +
           "\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\nflags\t\t: " + flags + "\n" + extra +
           "power management:\n\n";
}

TEST(Cpuinfo, ParsesFixtureOfIntelLaptop) {
    const std::string text =
        testing::read_whole_file(std::string(BULKHEAD_FIXTURES_DIR) + "/hcl/intel-laptop/proc/cpuinfo");
    auto info = parse_cpuinfo(text);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->processor_count, 4U);
    EXPECT_EQ(info->vendor_id, "GenuineIntel");
    EXPECT_EQ(info->model_name, "11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz");
    EXPECT_TRUE(info->has_flag("vmx"));
    EXPECT_TRUE(info->has_flag("lm"));
    EXPECT_FALSE(info->has_flag("hypervisor"));
    EXPECT_TRUE(info->has_vmx_flag("unrestricted_guest"));
}

TEST(Cpuinfo, FlagsAreThoseEveryProcessorHas) {
    auto info = parse_cpuinfo(block(0, "lm vmx ept") + block(1, "lm ept"));
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->processor_count, 2U);
    EXPECT_TRUE(info->has_flag("lm"));
    EXPECT_TRUE(info->has_flag("ept"));
    EXPECT_FALSE(info->has_flag("vmx"));
}

TEST(Cpuinfo, VmxFlagsOnlyWhenEveryProcessorReportsThem) {
    auto both = parse_cpuinfo(block(0, "lm vmx", "vmx flags\t: ept vpid\n") + block(1, "lm vmx", "vmx flags\t: ept\n"));
    ASSERT_TRUE(both);
    EXPECT_TRUE(both->has_vmx_flag("ept"));
    EXPECT_FALSE(both->has_vmx_flag("vpid"));
    auto one = parse_cpuinfo(block(0, "lm vmx", "vmx flags\t: ept\n") + block(1, "lm vmx"));
    ASSERT_TRUE(one);
    EXPECT_FALSE(one->has_vmx_flag("ept"));
}

TEST(Cpuinfo, AcceptsMissingTrailingNewline) {
    auto info = parse_cpuinfo("processor : 0\nflags : lm");
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_TRUE(info->has_flag("lm"));
}

TEST(Cpuinfo, WithoutFlagsLineIsNotX86) {
    auto info = parse_cpuinfo("processor : 0\nBogoMIPS : 50.00\nFeatures : fp asimd\n");
    ASSERT_TRUE(info);
    EXPECT_FALSE(info->has_flags_line);
    EXPECT_TRUE(info->flags.empty());
}

struct BadInput {
    const char* name;
    std::string text;
    std::string message;
};

// Test names and failure messages show the case's name, not its bytes.
void PrintTo(const BadInput& input, std::ostream* out) { *out << input.name; }

class CpuinfoRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(CpuinfoRejects, WithPreciseError) {
    auto info = parse_cpuinfo(GetParam().text);
    ASSERT_FALSE(info) << "accepted: " << GetParam().name;
    EXPECT_EQ(info.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, CpuinfoRejects,
    ::testing::Values(BadInput{"empty", "", "cpuinfo lists no processors"},
                      BadInput{"blank", "\n\n \n", "cpuinfo lists no processors"},
                      BadInput{"no colon", "processor : 0\nflags lm\n", "cpuinfo line 2: expected 'key : value'"},
                      BadInput{"wrong start", "flags : lm\n",
                               "cpuinfo line 1: a processor block must start with 'processor', not 'flags'"},
                      BadInput{"bad number", "processor : x\n", "cpuinfo line 1: processor number is not a number"},
                      BadInput{"duplicate", "processor : 0\nflags : lm\nflags : vmx\n",
                               "cpuinfo line 3: duplicate key 'flags'"},
                      BadInput{"empty key", "processor : 0\n : lm\n", "cpuinfo line 2: empty key"},
                      BadInput{"bad flag", "processor : 0\nflags : lm v$x\n", "cpuinfo line 2: invalid flag 'v$x'"},
                      BadInput{"nul", std::string("processor : 0\nflags : lm\0\n", 26), "cpuinfo contains a NUL byte"},
                      BadInput{"long line", "processor : 0\nflags : " + std::string(kMaxCpuinfoLineBytes, 'a') + "\n",
                               "cpuinfo line 2: line too long"}),
    [](const ::testing::TestParamInfo<BadInput>& param) {
        std::string name = param.param.name;
        for (char& c : name) {
            if (c == ' ') c = '_';
        }
        return name;
    });

TEST(Cpuinfo, RejectsOversizedInput) {
    const std::string huge(kMaxCpuinfoBytes + 1, '\n');
    auto info = parse_cpuinfo(huge);
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code, ErrorCode::too_large);
}

TEST(Cpuinfo, RejectsTooManyProcessors) {
    std::string text;
    for (std::size_t i = 0; i <= kMaxProcessors; ++i) text += "processor : " + std::to_string(i) + "\n\n";
    auto info = parse_cpuinfo(text);
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code, ErrorCode::too_large);
}

}  // namespace
}  // namespace bulkhead::hcl
