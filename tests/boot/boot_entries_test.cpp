// Boot entry names with systemd-boot's try counters, the order it starts them in, and the
// variables it leaves for the running system.
#include "boot/boot_entries.hpp"

#include <gtest/gtest.h>

namespace bulkhead::boot {
namespace {

TEST(BootEntries, NamesRoundTrip) {
    for (const char* name : {"bulkhead-1.efi", "bulkhead-12+3.efi", "bulkhead-12+2-1.efi", "bulkhead-7+0-3.efi"}) {
        auto entry = parse_entry_name(name);
        ASSERT_TRUE(entry) << name << ": " << entry.error().message;
        EXPECT_EQ(entry->file_name(), name);
    }
    auto counting = parse_entry_name("bulkhead-12+2-1.efi");
    ASSERT_TRUE(counting);
    EXPECT_EQ(counting->release, 12);
    EXPECT_EQ(counting->tries_left, 2U);
    EXPECT_EQ(counting->tries_done, 1U);
    EXPECT_FALSE(counting->blessed());
    EXPECT_TRUE(parse_entry_name("bulkhead-12.efi")->blessed());
}

TEST(BootEntries, ForeignNamesAreNotOursAndBrokenOnesAreRefused) {
    for (const char* name : {"linux.efi", "bulkhead-1.conf", "BULKHEAD-1.efi"}) {
        auto entry = parse_entry_name(name);
        ASSERT_FALSE(entry) << name;
        EXPECT_EQ(entry.error().code, ErrorCode::not_found) << name;
    }
    for (const char* name : {"bulkhead-.efi", "bulkhead-0.efi", "bulkhead-01.efi", "bulkhead-1+.efi",
                             "bulkhead-1+3-0.efi", "bulkhead-1+100.efi", "bulkhead-1+3-.efi", "bulkhead-1+-1.efi",
                             "bulkhead-x.efi", "bulkhead-1+3-1-1.efi", "bulkhead-99999999999999.efi"}) {
        auto entry = parse_entry_name(name);
        ASSERT_FALSE(entry) << name;
        EXPECT_EQ(entry.error().code, ErrorCode::parse) << name;
    }
}

TEST(BootEntries, TheNewestWithTriesLeftComesFirstAndSpentOnesLast) {
    auto order = [](std::vector<std::string> names) {
        std::vector<BootEntry> entries;
        for (const std::string& name : names) entries.push_back(*parse_entry_name(name));
        std::vector<std::string> sorted;
        for (const BootEntry& entry : boot_order(entries)) sorted.push_back(entry.file_name());
        return sorted;
    };
    EXPECT_EQ(order({"bulkhead-1.efi", "bulkhead-2+3.efi"}),
              (std::vector<std::string>{"bulkhead-2+3.efi", "bulkhead-1.efi"}));
    EXPECT_EQ(order({"bulkhead-1.efi", "bulkhead-2+1-2.efi"}),
              (std::vector<std::string>{"bulkhead-2+1-2.efi", "bulkhead-1.efi"}));
    // Tries run out: the blessed older release is started.
    EXPECT_EQ(order({"bulkhead-2+0-3.efi", "bulkhead-1.efi"}),
              (std::vector<std::string>{"bulkhead-1.efi", "bulkhead-2+0-3.efi"}));
    EXPECT_EQ(order({"bulkhead-10.efi", "bulkhead-9.efi"}),
              (std::vector<std::string>{"bulkhead-10.efi", "bulkhead-9.efi"}));
}

TEST(BootEntries, LoaderVariablesAreReadStrictly) {
    const std::string attributes("\x06\x00\x00\x00", 4);
    auto utf16 = [](std::string_view text) {
        std::string out;
        for (const char c : text) out += std::string{c, '\0'};
        return out + std::string(2, '\0');
    };
    auto value = parse_loader_string_variable(attributes + utf16("\\EFI\\Linux\\bulkhead-2+2-1.efi"));
    ASSERT_TRUE(value) << value.error().message;
    EXPECT_EQ(*value, "\\EFI\\Linux\\bulkhead-2+2-1.efi");
    EXPECT_FALSE(parse_loader_string_variable(attributes + utf16("x").substr(0, 2)));  // no NUL
    EXPECT_FALSE(parse_loader_string_variable(attributes + utf16("x") + "y\0"));       // after the NUL
    EXPECT_FALSE(parse_loader_string_variable(attributes + std::string("\x01\x04\0\0", 4)));
    EXPECT_FALSE(parse_loader_string_variable("\x06\0"));
    EXPECT_FALSE(parse_loader_string_variable(attributes + utf16(std::string(600, 'a'))));
}

TEST(BootEntries, LoaderConfStartsOnlyOurEntriesWithoutAMenu) {
    const std::string conf = loader_conf();
    for (const char* line :
         {"timeout 0\n", "default bulkhead-*\n", "editor no\n", "auto-entries no\n", "secure-boot-enroll force\n"}) {
        EXPECT_NE(conf.find(line), std::string::npos) << line;
    }
}

}  // namespace
}  // namespace bulkhead::boot
