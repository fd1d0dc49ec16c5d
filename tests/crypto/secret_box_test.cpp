#include "crypto/secret_box.hpp"

#include <gtest/gtest.h>

#include "base/text.hpp"

namespace bulkhead::crypto {
namespace {

TEST(SecretBox, SealOpenAndDetectTampering) {
    const std::string key(32, 'k');
    const std::string nonce(12, 'n');
    auto sealed = aes256_gcm_seal(key, nonce, "secret", "context");
    ASSERT_TRUE(sealed);
    EXPECT_EQ(sealed->size(), 6U + 16U);
    EXPECT_EQ(*aes256_gcm_open(key, nonce, *sealed, "context"), "secret");
    EXPECT_EQ(aes256_gcm_open(key, nonce, *sealed, "other context").error().code, ErrorCode::integrity);
    std::string flipped = *sealed;
    flipped[0] = static_cast<char>(flipped[0] ^ 1);
    EXPECT_EQ(aes256_gcm_open(key, nonce, flipped, "context").error().code, ErrorCode::integrity);
    EXPECT_EQ(aes256_gcm_open(std::string(32, 'x'), nonce, *sealed, "context").error().code, ErrorCode::integrity);
    EXPECT_FALSE(aes256_gcm_seal("short", nonce, "x", ""));
}

TEST(SecretBox, GcmKnownAnswer) {
    // NIST GCM test case 13: all-zero 256-bit key and 96-bit IV, empty plaintext.
    auto sealed = aes256_gcm_seal(std::string(32, '\0'), std::string(12, '\0'), "", "");
    ASSERT_TRUE(sealed);
    EXPECT_EQ(hex_encode(*sealed), "530f8afbc74536b9a963b4f1c4cb738b");
}

TEST(Scrypt, Rfc7914TestVector) {
    // RFC 7914 section 12, third vector: "pleaseletmein" / "SodiumChloride", N=16384, r=8, p=1.
    auto derived = scrypt("pleaseletmein", "SodiumChloride", {16384, 8, 1}, 64);
    ASSERT_TRUE(derived) << derived.error().message;
    EXPECT_EQ(hex_encode(*derived),
              "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc"
              "0d651e40dfcf017b45575887");
}

TEST(Scrypt, RefusesWeakOrHugeParameters) {
    EXPECT_FALSE(scrypt("pw", "salt", {1024, 8, 1}, 32));
    EXPECT_FALSE(scrypt("pw", "salt", {16384, 1, 1}, 32));
    EXPECT_FALSE(scrypt("pw", "salt", {16385, 8, 1}, 32));
    EXPECT_FALSE(scrypt("pw", "salt", {std::uint64_t{1} << 24, 8, 1}, 32));
}

TEST(Randomness, BytesDiffer) {
    auto first = random_bytes(32);
    auto second = random_bytes(32);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->size(), 32U);
    EXPECT_NE(*first, *second);
}

}  // namespace
}  // namespace bulkhead::crypto
