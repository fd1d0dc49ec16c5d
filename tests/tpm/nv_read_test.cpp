// The raw TPM2_NV_Read codec the initrd uses. Byte layouts come from the TPM 2.0 library
// specification; tests/floor checks the same codec against a real TPM (swtpm).
#include "tpm/nv_read.hpp"

#include <gtest/gtest.h>

#include "base/text.hpp"
#include "tpm/floor_reading.hpp"

namespace bulkhead::tpm {
namespace {

std::string bytes(std::string_view hex_text) {
    auto decoded = hex_decode(hex_text);
    EXPECT_TRUE(decoded) << hex_text;
    return decoded ? *decoded : std::string();
}

TEST(NvRead, CommandIsTheSpecifiedThirtyFiveBytes) {
    EXPECT_EQ(hex_encode(nv_read_command(0x0100B4D0, 8, 0)),
              "80020000002300000"
              "14e0100b4d00100b4d00000000940000009000000000000080000");
    EXPECT_EQ(hex_encode(nv_read_command(0x01C00002, 0x0102, 0x0304)).substr(62), "01020304");
}

TEST(NvRead, ParsesASuccessfulRead) {
    const std::string response = bytes(
        "80020000001d00000000"
        "0000000a"
        "0008"
        "0000000000000007"
        "0000"
        "01"
        "0000");
    auto parsed = parse_nv_read_response(response, 8);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->response_code, rc_success);
    EXPECT_EQ(hex_encode(parsed->data), "0000000000000007");
}

TEST(NvRead, ATpmErrorIsAValue) {
    auto parsed = parse_nv_read_response(bytes("80010000000a0000018b"), 8);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->response_code, 0x18BU);
    EXPECT_EQ(base_response_code(parsed->response_code), rc_handle);
    EXPECT_EQ(base_response_code(rc_nv_uninitialized), rc_nv_uninitialized);
    EXPECT_TRUE(parsed->data.empty());
}

TEST(NvRead, RefusesMalformedResponses) {
    const std::string good = bytes(
        "80020000001d00000000"
        "0000000a"
        "0008"
        "0000000000000007"
        "0000"
        "01"
        "0000");
    struct Case {
        const char* what;
        std::string response;
    };
    std::string wrong_tag = good;
    wrong_tag[1] = 0x01;
    std::string wrong_size = good;
    wrong_size[5] = 0x1c;
    std::string wrong_parameter_size = good;
    wrong_parameter_size[13] = 0x0b;
    std::string wrong_data_size = good;
    wrong_data_size[15] = 0x07;
    std::string with_hmac = good;
    with_hmac[28] = 0x01;
    std::string with_nonce = good;
    with_nonce[25] = 0x01;
    const std::vector<Case> cases = {
        {"empty", ""},
        {"short header", good.substr(0, 9)},
        {"truncated", good.substr(0, 28)},
        {"trailing byte", good + std::string(1, '\0')},
        {"unknown tag", bytes("c4000000000a00000000")},
        {"success without sessions", wrong_tag},
        {"announced size differs", wrong_size},
        {"wrong parameter size", wrong_parameter_size},
        {"wrong data size", wrong_data_size},
        {"hmac in a password session", with_hmac},
        {"nonce in a password session", with_nonce},
        {"error with a body", bytes("80010000000b0000018b00")},
        {"error with the sessions tag", bytes("80020000000a0000018b")},
        {"size above the bound", bytes("80010000100100000000")},
    };
    for (const auto& [what, response] : cases) {
        auto parsed = parse_nv_read_response(response, 8);
        EXPECT_FALSE(parsed) << what;
        if (!parsed) {
            EXPECT_EQ(parsed.error().code, ErrorCode::parse) << what;
        }
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
