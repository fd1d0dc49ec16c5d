#include "crypto/digest.hpp"

#include <gtest/gtest.h>

#include "base/text.hpp"

namespace bulkhead::crypto {
namespace {

TEST(Digest, KnownAnswers) {
    // FIPS 180-2 / FIPS 202 examples for "abc".
    EXPECT_EQ(hex_encode(digest(HashAlgorithm::sha256, "abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex_encode(digest(HashAlgorithm::sha512, "abc")),
              "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
              "454d4423643ce80e2a9ac94fa54ca49f");
    EXPECT_EQ(hex_encode(digest(HashAlgorithm::sha3_256, "abc")),
              "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

TEST(Digest, IncrementalEqualsOneShot) {
    Hasher hasher(HashAlgorithm::sha384);
    hasher.update("ab");
    hasher.update("");
    hasher.update("c");
    EXPECT_EQ(hasher.finish(), digest(HashAlgorithm::sha384, "abc"));
}

TEST(Digest, NamesRoundTripAndUnknownIsRefused) {
    for (const char* name : {"sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"}) {
        auto algorithm = hash_algorithm_from_name(name);
        ASSERT_TRUE(algorithm) << name;
        EXPECT_EQ(hash_algorithm_name(*algorithm), name);
        EXPECT_EQ(digest(*algorithm, "x").size(), digest_size(*algorithm));
    }
    for (const char* name : {"md5", "sha1", "SHA256", "sha-256", ""}) {
        auto algorithm = hash_algorithm_from_name(name);
        ASSERT_FALSE(algorithm) << name;
        EXPECT_EQ(algorithm.error().code, ErrorCode::unsupported);
    }
}

TEST(Digest, ConstantTimeEqual) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "ab"));
    EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(Hex, EncodeDecode) {
    EXPECT_EQ(hex_encode(std::string("\x00\xff\x10", 3)), "00ff10");
    EXPECT_EQ(*hex_decode("00FFab"), std::string("\x00\xff\xab", 3));
    EXPECT_EQ(hex_decode("abc").error().message, "hex string has an odd number of digits");
    EXPECT_EQ(hex_decode("0g").error().message, "invalid hex digit at position 1");
}

}  // namespace
}  // namespace bulkhead::crypto
