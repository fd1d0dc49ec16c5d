#include "tuf_repo/key_file.hpp"

#include <gtest/gtest.h>

#include "crypto/secret_box.hpp"
#include "json/parse.hpp"
#include "tuf/metadata.hpp"

namespace bulkhead::tuf_repo {
namespace {

// The smallest work factor the format accepts, to keep tests fast; real keys use 2^17.
const KdfParameters kTestKdf{std::uint64_t{1} << 14, 8, 1};

crypto::PrivateKey generated(crypto::SignatureScheme scheme) {
    auto key = crypto::PrivateKey::generate(scheme);
    EXPECT_TRUE(key);
    return *key;
}

TEST(KeyTypes, Names) {
    EXPECT_EQ(*key_type_from_name("ed25519"), crypto::SignatureScheme::ed25519);
    EXPECT_EQ(*key_type_from_name("ecdsa-p256"), crypto::SignatureScheme::ecdsa_p256_sha256);
    EXPECT_EQ(*key_type_from_name("ecdsa-p384"), crypto::SignatureScheme::ecdsa_p384_sha384);
    EXPECT_EQ(*key_type_from_name("rsa-pss-3072"), crypto::SignatureScheme::rsa_pss_sha256);
    EXPECT_EQ(key_type_from_name("rsa-1024").error().message,
              "unknown key type 'rsa-1024' (use ed25519, ecdsa-p256, ecdsa-p384 or rsa-pss-3072)");
}

class EveryKeyType : public ::testing::TestWithParam<crypto::SignatureScheme> {};

TEST_P(EveryKeyType, EncryptedRoundTripSigns) {
    const crypto::PrivateKey key = generated(GetParam());
    auto file = write_key_file(key, std::string("correct horse"), kTestKdf);
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->find(key.public_value().substr(0, 10)) != std::string::npos, true);  // public part readable

    auto identity = read_public_key(*file);
    ASSERT_TRUE(identity) << identity.error().message;
    EXPECT_EQ(identity->keyid, *tuf::compute_keyid(identity->public_object));
    EXPECT_EQ(identity->scheme, GetParam());

    auto unlocked = read_key_file(*file, std::string("correct horse"));
    ASSERT_TRUE(unlocked) << unlocked.error().message;
    auto signature = unlocked->key.sign("message");
    ASSERT_TRUE(signature);
    auto verifier = crypto::PublicKey::from_tuf(GetParam(), key.public_value());
    EXPECT_TRUE(verifier->verify("message", *signature));
}

INSTANTIATE_TEST_SUITE_P(Types, EveryKeyType,
                         ::testing::Values(crypto::SignatureScheme::ed25519, crypto::SignatureScheme::ecdsa_p256_sha256,
                                           crypto::SignatureScheme::ecdsa_p384_sha384,
                                           crypto::SignatureScheme::rsa_pss_sha256));

TEST(KeyFile, WrongOrMissingPassphraseIsRefused) {
    auto file = write_key_file(generated(crypto::SignatureScheme::ed25519), std::string("right"), kTestKdf);
    ASSERT_TRUE(file);
    auto wrong = read_key_file(*file, std::string("wrong"));
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::permission_denied);
    EXPECT_EQ(wrong.error().message, "cannot unlock the key: wrong passphrase, or the key file was modified");
    auto missing = read_key_file(*file, std::nullopt);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "this key is encrypted: a passphrase is needed to use it");
}

TEST(KeyFile, ModifiedCiphertextOrSwappedPublicKeyIsDetected) {
    auto file = write_key_file(generated(crypto::SignatureScheme::ed25519), std::string("pw"), kTestKdf);
    ASSERT_TRUE(file);
    std::string flipped = *file;
    const std::size_t at = flipped.find("\"ciphertext\":\"") + 20;
    flipped[at] = flipped[at] == '0' ? '1' : '0';
    EXPECT_EQ(read_key_file(flipped, std::string("pw")).error().code, ErrorCode::permission_denied);

    // Replace the public key (and its keyid) with another key's: the encryption binds them.
    const crypto::PrivateKey other = generated(crypto::SignatureScheme::ed25519);
    auto other_file = write_key_file(other, std::nullopt);
    auto other_identity = read_public_key(*other_file);
    auto identity = read_public_key(*file);
    std::string swapped = *file;
    const std::string old_public = json::parse(*file)->find("public")->find("keyval")->find("public")->as_string();
    swapped.replace(swapped.find(old_public), old_public.size(), other.public_value());
    swapped.replace(swapped.find(identity->keyid), identity->keyid.size(), other_identity->keyid);
    auto read = read_key_file(swapped, std::string("pw"));
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, ErrorCode::permission_denied);
}

TEST(KeyFile, PlaintextOnlyWhenAskedAndChecked) {
    auto file = write_key_file(generated(crypto::SignatureScheme::ecdsa_p256_sha256), std::nullopt);
    ASSERT_TRUE(file);
    EXPECT_NE(file->find("\"encryption\":\"none\""), std::string::npos);
    EXPECT_TRUE(read_key_file(*file, std::nullopt));
    std::string bad_keyid = *file;
    const std::size_t at = bad_keyid.find("\"keyid\":\"") + 9;
    bad_keyid[at] = bad_keyid[at] == 'a' ? 'b' : 'a';
    EXPECT_EQ(read_key_file(bad_keyid, std::nullopt).error().message, "key file: keyid does not match the public key");
}

TEST(KeyFile, WeakWorkFactorsAreRefused) {
    auto weak = write_key_file(generated(crypto::SignatureScheme::ed25519), std::string("pw"),
                               KdfParameters{std::uint64_t{1} << 10, 8, 1});
    ASSERT_FALSE(weak);
    EXPECT_EQ(weak.error().message, "scrypt parameters are too weak (need N >= 2^14, r >= 8, p >= 1)");
    EXPECT_FALSE(write_key_file(generated(crypto::SignatureScheme::ed25519), std::string(""), kTestKdf));
}

TEST(KeyFile, GarbageIsRefused) {
    EXPECT_EQ(read_public_key("{}").error().message,
              "key file: neither a bulkhead-key/1 key file nor a bulkhead.key/1 public key");
    EXPECT_FALSE(read_public_key("not json"));
    EXPECT_EQ(read_public_key(std::string(70000, ' ')).error().code, ErrorCode::too_large);
}

}  // namespace
}  // namespace bulkhead::tuf_repo
