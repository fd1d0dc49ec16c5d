#include "crypto/signature.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/text.hpp"

namespace bulkhead::crypto {
namespace {

class EveryScheme : public ::testing::TestWithParam<SignatureScheme> {};

TEST_P(EveryScheme, SignsAndVerifies) {
    auto key = PrivateKey::generate(GetParam());
    ASSERT_TRUE(key) << key.error().message;
    auto public_key = PublicKey::from_tuf(GetParam(), key->public_value());
    ASSERT_TRUE(public_key) << public_key.error().message;
    const std::string message = R"({"_type":"timestamp","version":1})";
    auto signature = key->sign(message);
    ASSERT_TRUE(signature) << signature.error().message;
    EXPECT_TRUE(public_key->verify(message, *signature));

    EXPECT_FALSE(public_key->verify(message + " ", *signature));
    std::string flipped = *signature;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x01);
    EXPECT_FALSE(public_key->verify(message, flipped));
    EXPECT_FALSE(public_key->verify(message, ""));
    EXPECT_FALSE(public_key->verify(message, std::string(4096, 'x')));

    auto other = PrivateKey::generate(GetParam());
    ASSERT_TRUE(other);
    EXPECT_FALSE(PublicKey::from_tuf(GetParam(), other->public_value())->verify(message, *signature));
}

INSTANTIATE_TEST_SUITE_P(Schemes, EveryScheme,
                         ::testing::Values(SignatureScheme::ed25519, SignatureScheme::ecdsa_p256_sha256,
                                           SignatureScheme::ecdsa_p384_sha384, SignatureScheme::rsa_pss_sha256,
                                           SignatureScheme::rsa_pss_sha384, SignatureScheme::rsa_pss_sha512),
                         [](const ::testing::TestParamInfo<SignatureScheme>& scheme_info) {
                             std::string name(tuf_scheme(scheme_info.param));
                             for (char& c : name) {
                                 if (c == '-') c = '_';
                             }
                             return name;
                         });

TEST(PublicKeyFingerprint, SameKeySameFingerprintOtherwiseDifferent) {
    for (SignatureScheme scheme :
         {SignatureScheme::ed25519, SignatureScheme::ecdsa_p256_sha256, SignatureScheme::rsa_pss_sha256}) {
        auto key = PrivateKey::generate(scheme);
        auto other = PrivateKey::generate(scheme);
        ASSERT_TRUE(key && other);
        std::string value = key->public_value();
        auto first = PublicKey::from_tuf(scheme, value);
        if (scheme != SignatureScheme::ed25519) value = "\n" + value + "\n";  // same key, other spelling
        auto second = PublicKey::from_tuf(scheme, value);
        auto third = PublicKey::from_tuf(scheme, other->public_value());
        ASSERT_TRUE(first && second && third);
        EXPECT_EQ(first->fingerprint(), second->fingerprint());
        EXPECT_NE(first->fingerprint(), third->fingerprint());
        EXPECT_EQ(first->fingerprint().size(), 32U);
    }
}

TEST(Ed25519, Rfc8032TestVector1) {
    auto key = PublicKey::from_tuf(SignatureScheme::ed25519,
                                   "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    ASSERT_TRUE(key) << key.error().message;
    const std::string signature = *hex_decode(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25b"
        "f5f0595bbe24655141438e7a100b");
    EXPECT_TRUE(key->verify("", signature));
    EXPECT_FALSE(key->verify("x", signature));
}

TEST(SchemeNames, TufPairs) {
    EXPECT_EQ(*scheme_from_tuf("ed25519", "ed25519"), SignatureScheme::ed25519);
    EXPECT_EQ(*scheme_from_tuf("ecdsa", "ecdsa-sha2-nistp256"), SignatureScheme::ecdsa_p256_sha256);
    EXPECT_EQ(*scheme_from_tuf("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"), SignatureScheme::ecdsa_p384_sha384);
    EXPECT_EQ(*scheme_from_tuf("rsa", "rsassa-pss-sha512"), SignatureScheme::rsa_pss_sha512);
    EXPECT_FALSE(scheme_from_tuf("rsa", "rsa-pkcs1v15-sha256"));
    EXPECT_FALSE(scheme_from_tuf("ed25519", "ecdsa-sha2-nistp256"));
    EXPECT_FALSE(scheme_from_tuf("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384"));
    EXPECT_EQ(scheme_from_tuf("x", "y").error().message, "unsupported key type and scheme 'x' / 'y'");
}

TEST(PublicKeyParsing, RejectsWrongKindsOfKeys) {
    EXPECT_EQ(PublicKey::from_tuf(SignatureScheme::ed25519, "00ff").error().message,
              "Ed25519 public key must be 32 bytes, got 2");
    EXPECT_FALSE(PublicKey::from_tuf(SignatureScheme::ed25519, "zz"));
    EXPECT_FALSE(PublicKey::from_tuf(SignatureScheme::ecdsa_p256_sha256, "not a pem"));

    auto p384 = PrivateKey::generate(SignatureScheme::ecdsa_p384_sha384);
    ASSERT_TRUE(p384);
    auto wrong_curve = PublicKey::from_tuf(SignatureScheme::ecdsa_p256_sha256, p384->public_value());
    ASSERT_FALSE(wrong_curve);
    EXPECT_EQ(wrong_curve.error().message,
              "EC key on curve secp384r1, the scheme ecdsa-sha2-nistp256 needs prime256v1");

    auto ec = PrivateKey::generate(SignatureScheme::ecdsa_p256_sha256);
    ASSERT_TRUE(ec);
    EXPECT_EQ(PublicKey::from_tuf(SignatureScheme::rsa_pss_sha256, ec->public_value()).error().message,
              "not an RSA key");
}

TEST(PublicKeyParsing, RejectsShortRsaKeys) {
    EVP_PKEY* weak = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024));
    ASSERT_NE(weak, nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    ASSERT_EQ(PEM_write_bio_PUBKEY(bio, weak), 1);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    const std::string pem(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    EVP_PKEY_free(weak);
    auto key = PublicKey::from_tuf(SignatureScheme::rsa_pss_sha256, pem);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().message, "RSA key of 1024 bits; at least 2048 are required");
}

}  // namespace
}  // namespace bulkhead::crypto
