// How floor readings are interpreted, and the report line the initrd's floor reader sends its
// /init. tests/floor checks the reader against a real TPM (swtpm) and tpm2-tools.
#include "tpm/floor_reading.hpp"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace bulkhead::tpm {
namespace {

TEST(FloorReport, RoundTripsBothStates) {
    auto report = floor_report({rc_success, 1000}, {rc_success, 997});
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(*report, "bulkhead-floor/1 provisioned 1000 997\n");
    auto parsed = parse_floor_report(*report);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_TRUE(parsed->provisioned);
    EXPECT_EQ(parsed->floor, 3U);
    EXPECT_EQ(parsed->counter, 1000U);
    EXPECT_EQ(parsed->base, 997U);

    for (const auto& [counter, base] : std::vector<std::pair<IndexRead, IndexRead>>{
             {{0x18B, 0}, {0x18B, 0}}, {{rc_success, 5}, {rc_nv_uninitialized, 0}}, {{0x18B, 0}, {rc_success, 5}}}) {
        auto absent = floor_report(counter, base);
        ASSERT_TRUE(absent) << absent.error().message;
        EXPECT_EQ(*absent, "bulkhead-floor/1 not-provisioned\n");
    }
    auto fresh = parse_floor_report("bulkhead-floor/1 not-provisioned\n");
    ASSERT_TRUE(fresh) << fresh.error().message;
    EXPECT_FALSE(fresh->provisioned);
    EXPECT_EQ(fresh->floor, 0U);

    auto largest = parse_floor_report("bulkhead-floor/1 provisioned 18446744073709551615 0\n");
    ASSERT_TRUE(largest) << largest.error().message;
    EXPECT_EQ(largest->floor, 18446744073709551615U);
}

TEST(FloorReport, CarriesTheReadsAsTheyAreAndTheParserFindsTampering) {
    auto report = floor_report({rc_success, 4}, {rc_success, 9});
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(*report, "bulkhead-floor/1 provisioned 4 9\n");
    auto tampered = parse_floor_report(*report);
    ASSERT_FALSE(tampered);
    EXPECT_EQ(tampered.error().code, ErrorCode::integrity);
}

TEST(FloorReport, OtherTpmErrorsAreNoReport) {
    auto refused = floor_report({rc_nv_authorization, 0}, {rc_success, 1});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("0x149"), std::string::npos) << refused.error().message;
    EXPECT_FALSE(floor_report({rc_success, 1}, {rc_nv_authorization, 0}));
}

TEST(FloorReport, RefusesAnythingElse) {
    for (const std::string& report : {
             std::string(),
             std::string("\n"),
             std::string("bulkhead-floor/1 not-provisioned"),
             std::string("bulkhead-floor/1 not-provisioned\n\n"),
             std::string("bulkhead-floor/1  not-provisioned\n"),
             std::string("bulkhead-floor/1 not-provisioned \n"),
             std::string("bulkhead-floor/2 not-provisioned\n"),
             std::string("bulkhead-floor/1 provisioned 5\n"),
             std::string("bulkhead-floor/1 provisioned 5 3 1\n"),
             std::string("bulkhead-floor/1 provisioned 05 3\n"),
             std::string("bulkhead-floor/1 provisioned +5 3\n"),
             std::string("bulkhead-floor/1 provisioned -5 3\n"),
             std::string("bulkhead-floor/1 provisioned 5 0x3\n"),
             std::string("bulkhead-floor/1 provisioned 18446744073709551616 0\n"),
             std::string("bulkhead-floor/1 provisioned 5 3\r\n"),
             std::string("bulkhead-floor/1 provisioned 5 3\n") + std::string(200, ' '),
             std::string("bulkhead-floor/1 not-provisioned\0\n", 34),
         }) {
        auto parsed = parse_floor_report(report);
        EXPECT_FALSE(parsed) << "accepted: " << report;
    }
}

TEST(FloorReading, IsCounterMinusBase) {
    auto reading = interpret_floor({rc_success, 1000}, {rc_success, 997});
    ASSERT_TRUE(reading) << reading.error().message;
    EXPECT_TRUE(reading->provisioned);
    EXPECT_EQ(reading->floor, 3U);
}

TEST(FloorReading, MissingOrUnwrittenIndicesMeanNotProvisioned) {
    for (const auto& [counter, base] : std::vector<std::pair<IndexRead, IndexRead>>{
             {{0x18B, 0}, {0x18B, 0}},
             {{rc_success, 5}, {0x18B, 0}},
             {{rc_success, 5}, {rc_nv_uninitialized, 0}},
             {{rc_nv_uninitialized, 0}, {0x18B, 0}},
         }) {
        auto reading = interpret_floor(counter, base);
        ASSERT_TRUE(reading) << reading.error().message;
        EXPECT_FALSE(reading->provisioned);
        EXPECT_EQ(reading->floor, 0U);
    }
}

TEST(FloorReading, OtherTpmErrorsAndABaseAboveTheCounterAreRefused) {
    auto unreadable = interpret_floor({rc_nv_authorization, 0}, {rc_success, 1});
    ASSERT_FALSE(unreadable);
    EXPECT_NE(unreadable.error().message.find("0x149"), std::string::npos) << unreadable.error().message;
    auto tampered = interpret_floor({rc_success, 4}, {rc_success, 9});
    ASSERT_FALSE(tampered);
    EXPECT_EQ(tampered.error().code, ErrorCode::integrity);
}

}  // namespace
}  // namespace bulkhead::tpm
