// Owner keys, signature lists and signed variable updates against efitools (cert-to-efi-sig-list,
// sign-efi-sig-list), byte for byte; the firmware's acceptance is tested by the image boot test.
#include <gtest/gtest.h>

#include "base/process.hpp"
#include "base/text.hpp"
#include "secureboot/efi_variables.hpp"
#include "secureboot/owner_keys.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::secureboot {
namespace {

// RSA-4096 generation and scrypt take a few seconds: one key for the whole suite.
const OwnerKey& shared_key() {
    static const OwnerKey key = [] {
        auto made = generate_owner_key("Bulkhead test db", "correct horse");
        EXPECT_TRUE(made) << made.error().message;
        return made ? *made : OwnerKey{};
    }();
    return key;
}

TEST(OwnerKeys, KeysAreEncryptedAtRestAndOpenOnlyWithThePassphrase) {
    const OwnerKey& key = shared_key();
    EXPECT_TRUE(key.encrypted_key_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")) << key.encrypted_key_pem;
    EXPECT_FALSE(decrypt_owner_key(key.encrypted_key_pem, "wrong horse"));
    auto plain = decrypt_owner_key(key.encrypted_key_pem, "correct horse");
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_TRUE(plain->starts_with("-----BEGIN PRIVATE KEY-----"));
    EXPECT_FALSE(generate_owner_key("x", ""));

    // OpenSSL's own tools agree: an RSA-4096 key whose encryption uses scrypt, and a certificate
    // signed with SHA-256 for the subject given.
    const testing::TempDir dir;
    const auto encrypted = dir.write("db.key", key.encrypted_key_pem);
    const auto cert = dir.write("db.crt", key.certificate_pem);
    auto parsed = run_program_checked({"/usr/bin/openssl", "asn1parse", "-in", encrypted.string()});
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_NE(parsed->out.find(":scrypt"), std::string::npos) << parsed->out;
    EXPECT_NE(parsed->out.find("aes-256-cbc"), std::string::npos) << parsed->out;
    auto text = run_program_checked({"/usr/bin/openssl", "x509", "-in", cert.string(), "-noout", "-text"});
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_NE(text->out.find("Public-Key: (4096 bit)"), std::string::npos);
    EXPECT_NE(text->out.find("Signature Algorithm: sha256WithRSAEncryption"), std::string::npos);
    EXPECT_NE(text->out.find("Subject: CN = Bulkhead test db"), std::string::npos) << text->out;
}

TEST(EfiVariables, SignatureListsAndSignedUpdatesEqualEfitools) {
    const OwnerKey& key = shared_key();
    auto plain = decrypt_owner_key(key.encrypted_key_pem, "correct horse");
    ASSERT_TRUE(plain);
    const testing::TempDir dir;
    const auto key_file = dir.write("db.key", *plain);
    const auto cert_file = dir.write("db.crt", key.certificate_pem);
    const std::string owner_text = "6b1c3a6d-8f2e-4d3b-9a1c-0e5f7d2b4c11";
    const gpt::Guid owner = *gpt::parse_guid(owner_text);

    const std::string ours = signature_list(key.certificate_der, owner);
    ASSERT_TRUE(run_program_checked(
        {"/usr/bin/cert-to-efi-sig-list", "-g", owner_text, cert_file.string(), (dir.path() / "db.esl").string()}));
    EXPECT_EQ(hex_encode(ours), hex_encode(testing::read_whole_file(dir.path() / "db.esl")));

    const EfiTime time{2026, 11, 27, 12, 34, 56};
    for (const char* variable : {"db", "KEK", "PK"}) {
        auto update = signed_update(variable, time, ours, *plain, key.certificate_pem);
        ASSERT_TRUE(update) << update.error().message;
        const std::string theirs_path = (dir.path() / (std::string(variable) + ".auth")).string();
        auto signed_by_efitools = run_program_checked({"/usr/bin/sign-efi-sig-list", "-t", "2026-11-27 12:34:56", "-g",
                                                       owner_text, "-k", key_file.string(), "-c", cert_file.string(),
                                                       variable, (dir.path() / "db.esl").string(), theirs_path});
        ASSERT_TRUE(signed_by_efitools) << signed_by_efitools.error().message;
        EXPECT_EQ(hex_encode(*update), hex_encode(testing::read_whole_file(theirs_path))) << variable;
    }
    EXPECT_FALSE(signed_update("dbx2", time, ours, *plain, key.certificate_pem));
    auto other = generate_owner_key("other", "p");
    ASSERT_TRUE(other);
    EXPECT_FALSE(signed_update("db", time, ours, *plain, other->certificate_pem));  // key and cert do not match
}

}  // namespace
}  // namespace bulkhead::secureboot
