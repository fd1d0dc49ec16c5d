#include "tuf_repo/key_file.hpp"

#include "base/text.hpp"
#include "crypto/secret_box.hpp"
#include "json/canonical.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"
#include "tuf/metadata.hpp"

namespace bulkhead::tuf_repo {

namespace {

constexpr std::string_view kFormat = "bulkhead-key/1";
constexpr std::string_view kCipher = "scrypt-aes-256-gcm";
constexpr std::string_view kPublicSchema = "bulkhead.key/1";  // what `bulkhead keys public --json` prints
// A hostile file must not make unlocking cost unbounded memory: 2^20 with r = 8 is 1 GiB.
constexpr std::int64_t kMaxScryptN = std::int64_t{1} << 20;
constexpr std::size_t kSaltBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kMaxKeyFileBytes = 65536;

json::Value make(json::Object members) {
    (void)json::sort_members(members);
    return json::Value(std::move(members));
}

json::Value text(std::string value) { return json::Value(std::move(value)); }

json::Value public_object(const crypto::PrivateKey& key) {
    return make({{"keytype", text(std::string(crypto::tuf_keytype(key.scheme())))},
                 {"scheme", text(std::string(crypto::tuf_scheme(key.scheme())))},
                 {"keyval", make({{"public", text(key.public_value())}})}});
}

Failure bad_file(const std::string& what) { return fail(ErrorCode::parse, "key file: " + what); }

const std::string* string_member(const json::Value& object, std::string_view key) {
    const json::Value* member = object.find(key);
    return member != nullptr && member->is_string() ? &member->as_string() : nullptr;
}

// The bytes the encryption authenticates besides the key: the format and the public key, so
// that the public part of a file cannot be swapped for another key's.
Result<std::string> associated_data(const json::Value& public_key) {
    auto canonical = json::canonical(public_key);
    if (!canonical) return fail(canonical.error());
    return std::string(kFormat) + "\n" + *canonical;
}

}  // namespace

Result<crypto::SignatureScheme> key_type_from_name(std::string_view name) {
    if (name == "ed25519") return crypto::SignatureScheme::ed25519;
    if (name == "ecdsa-p256") return crypto::SignatureScheme::ecdsa_p256_sha256;
    if (name == "ecdsa-p384") return crypto::SignatureScheme::ecdsa_p384_sha384;
    if (name == "rsa-pss-3072") return crypto::SignatureScheme::rsa_pss_sha256;
    return fail(ErrorCode::invalid_argument,
                "unknown key type '" + std::string(name) + "' (use ed25519, ecdsa-p256, ecdsa-p384 or rsa-pss-3072)");
}

Result<std::string> write_key_file(const crypto::PrivateKey& key, const std::optional<std::string>& passphrase,
                                   const KdfParameters& kdf) {
    const json::Value public_key = public_object(key);
    auto keyid = tuf::compute_keyid(public_key);
    if (!keyid) return fail(keyid.error());
    auto der = key.to_pkcs8_der();
    if (!der) return fail(der.error());

    json::Value private_part;
    if (!passphrase) {
        private_part = make({{"encryption", text("none")}, {"pkcs8", text(hex_encode(*der))}});
    } else {
        if (passphrase->empty()) return fail(ErrorCode::invalid_argument, "the passphrase must not be empty");
        auto salt = crypto::random_bytes(kSaltBytes);
        auto nonce = crypto::random_bytes(kNonceBytes);
        if (!salt || !nonce) return fail(ErrorCode::internal, "no secure randomness available");
        auto derived = crypto::scrypt(*passphrase, *salt, {kdf.n, kdf.r, kdf.p}, kKeyBytes);
        if (!derived) return fail(derived.error());
        auto aad = associated_data(public_key);
        if (!aad) return fail(aad.error());
        auto sealed = crypto::aes256_gcm_seal(*derived, *nonce, *der, *aad);
        crypto::wipe(*derived);
        if (!sealed) return fail(sealed.error());
        private_part = make({{"encryption", text(std::string(kCipher))},
                             {"kdf", make({{"name", text("scrypt")},
                                           {"n", json::Value(static_cast<std::int64_t>(kdf.n))},
                                           {"r", json::Value(static_cast<std::int64_t>(kdf.r))},
                                           {"p", json::Value(static_cast<std::int64_t>(kdf.p))},
                                           {"salt", text(hex_encode(*salt))}})},
                             {"nonce", text(hex_encode(*nonce))},
                             {"ciphertext", text(hex_encode(*sealed))}});
    }
    crypto::wipe(*der);
    return json::to_json(make({{"format", text(std::string(kFormat))},
                               {"keyid", text(*keyid)},
                               {"public", public_key},
                               {"private", private_part}})) +
           "\n";
}

namespace {

Result<json::Value> parse_key_file(std::string_view file_bytes) {
    if (file_bytes.size() > kMaxKeyFileBytes) return fail(ErrorCode::too_large, "key file is too large");
    auto document = json::parse(file_bytes);
    if (!document) return bad_file(document.error().message);
    return document;
}

// The identity of a parsed key file, with its format and keyid checked.
Result<KeyIdentity> identity_of(const json::Value& document) {
    const std::string* format = string_member(document, "format");
    const std::string* schema = string_member(document, "schema");
    const bool public_document = schema != nullptr && *schema == kPublicSchema;
    if (!public_document && (format == nullptr || *format != kFormat)) {
        return bad_file("neither a " + std::string(kFormat) + " key file nor a " + std::string(kPublicSchema) +
                        " public key");
    }
    const json::Value* public_key = document.find(public_document ? "key" : "public");
    if (public_key == nullptr || !public_key->is_object()) return bad_file("no public key");
    const std::string* keytype = string_member(*public_key, "keytype");
    const std::string* scheme_name = string_member(*public_key, "scheme");
    const json::Value* keyval = public_key->find("keyval");
    const std::string* public_value = keyval != nullptr ? string_member(*keyval, "public") : nullptr;
    if (keytype == nullptr || scheme_name == nullptr || public_value == nullptr)
        return bad_file("incomplete public key");
    auto scheme = crypto::scheme_from_tuf(*keytype, *scheme_name);
    if (!scheme) return bad_file(scheme.error().message);
    auto keyid = tuf::compute_keyid(*public_key);
    if (!keyid) return fail(keyid.error());
    const std::string* stored_keyid = string_member(document, "keyid");
    if (stored_keyid == nullptr || *stored_keyid != *keyid) return bad_file("keyid does not match the public key");
    return KeyIdentity{*keyid, *public_key, *scheme};
}

}  // namespace

Result<KeyIdentity> read_public_key(std::string_view file_bytes) {
    auto document = parse_key_file(file_bytes);
    if (!document) return fail(document.error());
    return identity_of(*document);
}

Result<bool> key_file_is_encrypted(std::string_view file_bytes) {
    auto document = parse_key_file(file_bytes);
    if (!document) return fail(document.error());
    const json::Value* private_part = document->find("private");
    if (private_part == nullptr || !private_part->is_object()) return bad_file("no private key");
    const std::string* encryption = string_member(*private_part, "encryption");
    return encryption == nullptr || *encryption != "none";
}

Result<SigningKey> read_key_file(std::string_view file_bytes, const std::optional<std::string>& passphrase) {
    auto document = parse_key_file(file_bytes);
    if (!document) return fail(document.error());
    auto identity = identity_of(*document);
    if (!identity) return fail(identity.error());
    const json::Value* private_part = document->find("private");
    if (private_part == nullptr || !private_part->is_object()) return bad_file("no private key");
    const std::string* encryption = string_member(*private_part, "encryption");
    std::string der;
    if (encryption != nullptr && *encryption == "none") {
        const std::string* pkcs8 = string_member(*private_part, "pkcs8");
        auto decoded = pkcs8 != nullptr ? hex_decode(*pkcs8) : Result<std::string>(fail(ErrorCode::parse, "missing"));
        if (!decoded) return bad_file("unreadable private key");
        der = std::move(*decoded);
    } else if (encryption != nullptr && *encryption == kCipher) {
        if (!passphrase) {
            return fail(ErrorCode::invalid_argument, "this key is encrypted: a passphrase is needed to use it");
        }
        const json::Value* kdf = private_part->find("kdf");
        const json::Value* n = kdf != nullptr ? kdf->find("n") : nullptr;
        const json::Value* r = kdf != nullptr ? kdf->find("r") : nullptr;
        const json::Value* p = kdf != nullptr ? kdf->find("p") : nullptr;
        const std::string* salt_hex = kdf != nullptr ? string_member(*kdf, "salt") : nullptr;
        const std::string* nonce_hex = string_member(*private_part, "nonce");
        const std::string* ciphertext_hex = string_member(*private_part, "ciphertext");
        if (n == nullptr || r == nullptr || p == nullptr || !n->is_integer() || !r->is_integer() || !p->is_integer() ||
            n->as_integer() < 2 || n->as_integer() > kMaxScryptN || r->as_integer() < 1 || r->as_integer() > 32 ||
            p->as_integer() < 1 || p->as_integer() > 16 || salt_hex == nullptr || nonce_hex == nullptr ||
            ciphertext_hex == nullptr) {
            return bad_file("encryption parameters missing or out of range");
        }
        auto salt = hex_decode(*salt_hex);
        auto nonce = hex_decode(*nonce_hex);
        auto sealed = hex_decode(*ciphertext_hex);
        if (!salt || !nonce || !sealed) return bad_file("encryption parameters are not hex");
        auto derived =
            crypto::scrypt(*passphrase, *salt,
                           {static_cast<std::uint64_t>(n->as_integer()), static_cast<std::uint64_t>(r->as_integer()),
                            static_cast<std::uint64_t>(p->as_integer())},
                           kKeyBytes);
        if (!derived) return fail(derived.error());
        auto aad = associated_data(identity->public_object);
        if (!aad) return fail(aad.error());
        auto opened = crypto::aes256_gcm_open(*derived, *nonce, *sealed, *aad);
        crypto::wipe(*derived);
        if (!opened) {
            return fail(ErrorCode::permission_denied,
                        "cannot unlock the key: wrong passphrase, or the key file was modified");
        }
        der = std::move(*opened);
    } else {
        return bad_file("unknown private key encryption");
    }
    auto key = crypto::PrivateKey::from_pkcs8_der(identity->scheme, der);
    crypto::wipe(der);
    if (!key) return bad_file(key.error().message);
    if (key->public_value() != *string_member(*identity->public_object.find("keyval"), "public")) {
        return bad_file("private key does not belong to the public key");
    }
    return SigningKey{std::move(*key), std::move(*identity)};
}

}  // namespace bulkhead::tuf_repo
