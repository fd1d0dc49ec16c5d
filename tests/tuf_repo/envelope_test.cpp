#include "tuf_repo/envelope.hpp"

#include <gtest/gtest.h>

#include "json/write.hpp"
#include "tuf/metadata.hpp"
#include "tuf/verify.hpp"

namespace bulkhead::tuf_repo {
namespace {

SigningKey new_key(crypto::SignatureScheme scheme = crypto::SignatureScheme::ed25519) {
    auto key = crypto::PrivateKey::generate(scheme);
    auto file = write_key_file(*key, std::nullopt);
    return *read_key_file(*file, std::nullopt);
}

// An unsigned root whose roles all use `keys` with `threshold`.
Envelope unsigned_root(const std::vector<const SigningKey*>& keys, int threshold) {
    std::string key_objects;
    std::string keyids;
    for (const SigningKey* key : keys) {
        if (!keyids.empty()) {
            keyids += ",";
            key_objects += ",";
        }
        key_objects += "\"" + key->identity.keyid + "\":" + json::to_json(key->identity.public_object);
        keyids += "\"" + key->identity.keyid + "\"";
    }
    const std::string role = "{\"keyids\":[" + keyids + "],\"threshold\":" + std::to_string(threshold) + "}";
    const std::string text = R"({"signatures": [], "signed": {"_type": "root", "spec_version": "1.0.31",
        "version": 1, "expires": "2030-01-01T00:00:00Z", "consistent_snapshot": true, "keys": {)" +
                             key_objects + "}, \"roles\": {\"root\":" + role + ",\"timestamp\":" + role +
                             ",\"snapshot\":" + role + ",\"targets\":" + role + "}}}";
    auto envelope = read_envelope(text);
    EXPECT_TRUE(envelope) << envelope.error().message;
    return *envelope;
}

// What the client sees: parse the written envelope and check the root role's threshold.
Result<void> client_accepts(const Envelope& envelope) {
    auto root = tuf::parse_root(write_envelope(envelope));
    if (!root) return fail(root.error());
    return tuf::verify_threshold("root", root->canonical_signed, root->signatures, root->signed_part.keys,
                                 root->signed_part.root);
}

TEST(Envelope, SignaturesReachTheThresholdTheClientChecks) {
    const SigningKey first = new_key();
    const SigningKey second = new_key(crypto::SignatureScheme::ecdsa_p256_sha256);
    Envelope root = unsigned_root({&first, &second}, 2);
    EXPECT_FALSE(client_accepts(root));
    ASSERT_TRUE(sign(root, first));
    EXPECT_EQ(client_accepts(root).error().code, ErrorCode::not_signed);
    ASSERT_TRUE(sign(root, first));  // signing twice replaces, never duplicates
    EXPECT_EQ(root.signatures.size(), 1U);
    ASSERT_TRUE(sign(root, second));
    EXPECT_TRUE(client_accepts(root));
}

TEST(Envelope, WriteIsStableAndReadBack) {
    const SigningKey key = new_key();
    Envelope root = unsigned_root({&key}, 1);
    ASSERT_TRUE(sign(root, key));
    const std::string written = write_envelope(root);
    auto read = read_envelope(written);
    ASSERT_TRUE(read);
    EXPECT_EQ(write_envelope(*read), written);
}

TEST(Envelope, SignaturesFromSeparateMachinesMerge) {
    const SigningKey first = new_key();
    const SigningKey second = new_key();
    const SigningKey third = new_key();
    const Envelope blank = unsigned_root({&first, &second, &third}, 2);
    Envelope here = blank;
    Envelope there = blank;
    ASSERT_TRUE(sign(here, first));
    ASSERT_TRUE(sign(there, second));
    auto root = tuf::parse_root(write_envelope(blank));
    ASSERT_TRUE(root);
    auto merged = merge_signatures(here, *read_envelope(write_envelope(there)), root->signed_part.keys);
    ASSERT_TRUE(merged) << merged.error().message;
    EXPECT_EQ(*merged, 1U);
    EXPECT_TRUE(client_accepts(here));
    EXPECT_EQ(*merge_signatures(here, there, root->signed_part.keys), 0U);  // nothing new
}

TEST(Envelope, MergeRefusesForeignOrForgedSignatures) {
    const SigningKey first = new_key();
    const SigningKey outsider = new_key();
    const Envelope blank = unsigned_root({&first}, 1);
    auto keys = tuf::parse_root(write_envelope(blank))->signed_part.keys;

    Envelope signed_by_outsider = blank;
    ASSERT_TRUE(sign(signed_by_outsider, outsider));
    Envelope target = blank;
    auto unknown = merge_signatures(target, signed_by_outsider, keys);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message, "signature by unknown key " + outsider.identity.keyid + "; nothing merged");

    Envelope forged = blank;
    ASSERT_TRUE(sign(forged, first));
    forged.signatures[0].bytes[5] = static_cast<char>(forged.signatures[0].bytes[5] ^ 1);
    auto bad = merge_signatures(target, forged, keys);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, "signature by " + first.identity.keyid + " does not verify; nothing merged");
    EXPECT_TRUE(target.signatures.empty());

    Envelope other_metadata = unsigned_root({&first}, 1);
    other_metadata.signed_part.as_object().front().second = json::Value(std::string("timestamp"));  // "_type"
    EXPECT_EQ(merge_signatures(target, other_metadata, keys).error().message,
              "the signatures are over different metadata; nothing merged");
}

TEST(Envelope, ReadRefusesMalformedInput) {
    EXPECT_FALSE(read_envelope("{}"));
    EXPECT_FALSE(read_envelope(R"({"signed": {}, "signatures": [{"keyid": "a", "sig": "zz"}]})"));
    auto duplicate =
        read_envelope(R"({"signed": {}, "signatures": [{"keyid": "a", "sig": "00"}, {"keyid": "a", "sig": "01"}]})");
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error().message, "metadata: keyid a signs more than once");
}

}  // namespace
}  // namespace bulkhead::tuf_repo
