#include "crypto/signature.hpp"

#include <array>
#include <string>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "crypto/openssl_handles.hpp"

namespace bulkhead::crypto {

namespace {

constexpr int kMinimumRsaBits = 2048;
constexpr std::size_t kEd25519KeyBytes = 32;
constexpr std::size_t kMaxPemBytes = 16384;

const EVP_MD* message_digest(SignatureScheme scheme) {
    switch (scheme) {
        case SignatureScheme::ed25519: return nullptr;  // Ed25519 hashes internally
        case SignatureScheme::ecdsa_p256_sha256:
        case SignatureScheme::rsa_pss_sha256: return EVP_sha256();
        case SignatureScheme::ecdsa_p384_sha384:
        case SignatureScheme::rsa_pss_sha384: return EVP_sha384();
        case SignatureScheme::rsa_pss_sha512: return EVP_sha512();
    }
    return nullptr;
}

bool is_rsa_pss(SignatureScheme scheme) {
    return scheme == SignatureScheme::rsa_pss_sha256 || scheme == SignatureScheme::rsa_pss_sha384 ||
           scheme == SignatureScheme::rsa_pss_sha512;
}

const char* curve_name(SignatureScheme scheme) {
    return scheme == SignatureScheme::ecdsa_p256_sha256 ? "prime256v1" : "secp384r1";
}

// Checks that a parsed key is of the algorithm (and size or curve) the scheme requires.
Result<void> check_key_matches(EVP_PKEY* key, SignatureScheme scheme) {
    switch (scheme) {
        case SignatureScheme::ed25519:
            if (EVP_PKEY_is_a(key, "ED25519") != 1) return fail(ErrorCode::parse, "not an Ed25519 key");
            return {};
        case SignatureScheme::ecdsa_p256_sha256:
        case SignatureScheme::ecdsa_p384_sha384: {
            if (EVP_PKEY_is_a(key, "EC") != 1) return fail(ErrorCode::parse, "not an EC key");
            std::array<char, 64> group{};
            std::size_t length = 0;
            if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &length) !=
                1) {
                return fail(ErrorCode::parse, "EC key without a named curve");
            }
            if (std::string_view(group.data(), length) != curve_name(scheme)) {
                return fail(ErrorCode::parse, "EC key on curve " + std::string(group.data(), length) + ", the scheme " +
                                                  std::string(tuf_scheme(scheme)) + " needs " + curve_name(scheme));
            }
            return {};
        }
        case SignatureScheme::rsa_pss_sha256:
        case SignatureScheme::rsa_pss_sha384:
        case SignatureScheme::rsa_pss_sha512:
            if (EVP_PKEY_is_a(key, "RSA") != 1) return fail(ErrorCode::parse, "not an RSA key");
            if (EVP_PKEY_get_bits(key) < kMinimumRsaBits) {
                return fail(ErrorCode::unsupported, "RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
                                                        " bits; at least 2048 are required");
            }
            return {};
    }
    return fail(ErrorCode::internal, "unknown signature scheme");
}

// Prepares a sign or verify context: the digest, and PSS padding with a salt as long as the
// digest when signing, or any salt length when verifying (what other TUF implementations do).
Result<MdCtxPtr> make_context(EVP_PKEY* key, SignatureScheme scheme, bool signing) {
    MdCtxPtr context(EVP_MD_CTX_new());
    if (!context) return fail(ErrorCode::internal, "out of memory");
    EVP_PKEY_CTX* key_context = nullptr;
    const int initialised =
        signing ? EVP_DigestSignInit(context.get(), &key_context, message_digest(scheme), nullptr, key)
                : EVP_DigestVerifyInit(context.get(), &key_context, message_digest(scheme), nullptr, key);
    if (initialised != 1) return fail(ErrorCode::internal, "signature context: " + take_openssl_error());
    if (is_rsa_pss(scheme)) {
        if (EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, signing ? RSA_PSS_SALTLEN_DIGEST : RSA_PSS_SALTLEN_AUTO) !=
                1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(key_context, message_digest(scheme)) != 1) {
            return fail(ErrorCode::internal, "RSA-PSS parameters: " + take_openssl_error());
        }
    }
    return context;
}

const unsigned char* bytes(std::string_view data) { return reinterpret_cast<const unsigned char*>(data.data()); }

}  // namespace

Result<SignatureScheme> scheme_from_tuf(std::string_view keytype, std::string_view scheme) {
    if (keytype == "ed25519" && scheme == "ed25519") return SignatureScheme::ed25519;
    const bool ecdsa_type = keytype == "ecdsa" || keytype == scheme;
    if (ecdsa_type && scheme == "ecdsa-sha2-nistp256") return SignatureScheme::ecdsa_p256_sha256;
    if (ecdsa_type && scheme == "ecdsa-sha2-nistp384") return SignatureScheme::ecdsa_p384_sha384;
    if (keytype == "rsa") {
        if (scheme == "rsassa-pss-sha256") return SignatureScheme::rsa_pss_sha256;
        if (scheme == "rsassa-pss-sha384") return SignatureScheme::rsa_pss_sha384;
        if (scheme == "rsassa-pss-sha512") return SignatureScheme::rsa_pss_sha512;
    }
    return fail(ErrorCode::unsupported,
                "unsupported key type and scheme '" + std::string(keytype) + "' / '" + std::string(scheme) + "'");
}

std::string_view tuf_keytype(SignatureScheme scheme) noexcept {
    switch (scheme) {
        case SignatureScheme::ed25519: return "ed25519";
        case SignatureScheme::ecdsa_p256_sha256:
        case SignatureScheme::ecdsa_p384_sha384: return "ecdsa";
        case SignatureScheme::rsa_pss_sha256:
        case SignatureScheme::rsa_pss_sha384:
        case SignatureScheme::rsa_pss_sha512: return "rsa";
    }
    return "unknown";
}

std::string_view tuf_scheme(SignatureScheme scheme) noexcept {
    switch (scheme) {
        case SignatureScheme::ed25519: return "ed25519";
        case SignatureScheme::ecdsa_p256_sha256: return "ecdsa-sha2-nistp256";
        case SignatureScheme::ecdsa_p384_sha384: return "ecdsa-sha2-nistp384";
        case SignatureScheme::rsa_pss_sha256: return "rsassa-pss-sha256";
        case SignatureScheme::rsa_pss_sha384: return "rsassa-pss-sha384";
        case SignatureScheme::rsa_pss_sha512: return "rsassa-pss-sha512";
    }
    return "unknown";
}

struct PublicKey::Handle {
    PkeyPtr key;
    std::string fingerprint;
    // A verify context set up once (digest, PSS parameters) and duplicated for each
    // verification: setting one up from scratch costs more than an Ed25519 verification.
    MdCtxPtr verify_template;
};

namespace {

// The key material itself, tagged with its algorithm: cheap to compute, and equal for equal
// keys however their PEM was written.
Result<std::string> key_material(EVP_PKEY* key, SignatureScheme scheme) {
    std::string material(tuf_keytype(scheme));
    material += ':';
    if (scheme == SignatureScheme::ed25519) {
        std::array<unsigned char, kEd25519KeyBytes> raw{};
        std::size_t length = raw.size();
        if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1) {
            return fail(ErrorCode::internal, "cannot read the Ed25519 key");
        }
        material.append(reinterpret_cast<const char*>(raw.data()), length);
        return material;
    }
    if (!is_rsa_pss(scheme)) {
        std::array<unsigned char, 256> point{};
        std::size_t length = 0;
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(), point.size(),
                                            &length) != 1) {
            return fail(ErrorCode::internal, "cannot read the EC public point");
        }
        material += curve_name(scheme);
        material += ':';
        material.append(reinterpret_cast<const char*>(point.data()), length);
        return material;
    }
    for (const char* name : {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E}) {
        BIGNUM* number = nullptr;
        if (EVP_PKEY_get_bn_param(key, name, &number) != 1) {
            return fail(ErrorCode::internal, "cannot read the RSA key");
        }
        std::string bytes(static_cast<std::size_t>(BN_num_bytes(number)), '\0');
        BN_bn2bin(number, reinterpret_cast<unsigned char*>(bytes.data()));
        BN_free(number);
        material += std::to_string(bytes.size()) + ':' + bytes;
    }
    return material;
}

}  // namespace

const std::string& PublicKey::fingerprint() const noexcept { return handle_->fingerprint; }

Result<PublicKey> PublicKey::from_tuf(SignatureScheme scheme, std::string_view public_value) {
    PkeyPtr key;
    if (scheme == SignatureScheme::ed25519) {
        auto raw = hex_decode(public_value);
        if (!raw) return fail(ErrorCode::parse, "Ed25519 public key: " + raw.error().message);
        if (raw->size() != kEd25519KeyBytes) {
            return fail(ErrorCode::parse, "Ed25519 public key must be 32 bytes, got " + std::to_string(raw->size()));
        }
        key.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(*raw), raw->size()));
    } else {
        if (public_value.size() > kMaxPemBytes) return fail(ErrorCode::too_large, "PEM public key is too large");
        BioPtr bio(BIO_new_mem_buf(public_value.data(), static_cast<int>(public_value.size())));
        if (!bio) return fail(ErrorCode::internal, "out of memory");
        key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    }
    if (!key) {
        return fail(ErrorCode::parse,
                    "cannot read " + std::string(tuf_scheme(scheme)) + " public key: " + take_openssl_error());
    }
    if (auto matches = check_key_matches(key.get(), scheme); !matches) return fail(matches.error());
    auto material = key_material(key.get(), scheme);
    if (!material) return fail(material.error());
    auto handle = std::make_shared<Handle>();
    handle->fingerprint = digest(HashAlgorithm::sha256, *material);
    handle->key = std::move(key);
    return PublicKey(scheme, std::move(handle));
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
    auto context = make_context(handle_->key.get(), scheme_, false);
    if (!context) {
        ERR_clear_error();
        return false;
    }
    const int verified =
        EVP_DigestVerify(context->get(), bytes(signature), signature.size(), bytes(message), message.size());
    ERR_clear_error();  // a bad signature leaves errors queued; they are not ours to report
    return verified == 1;
}

struct PrivateKey::Handle {
    PkeyPtr key;
};

Result<PrivateKey> PrivateKey::generate(SignatureScheme scheme) {
    PkeyPtr key;
    switch (scheme) {
        case SignatureScheme::ed25519: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); break;
        case SignatureScheme::ecdsa_p256_sha256: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); break;
        case SignatureScheme::ecdsa_p384_sha384: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384")); break;
        case SignatureScheme::rsa_pss_sha256:
        case SignatureScheme::rsa_pss_sha384:
        case SignatureScheme::rsa_pss_sha512:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(3072)));
            break;
    }
    if (!key) return fail(ErrorCode::internal, "key generation failed: " + take_openssl_error());
    auto handle = std::make_shared<Handle>();
    handle->key = std::move(key);
    return PrivateKey(scheme, std::move(handle));
}

Result<PrivateKey> PrivateKey::from_pkcs8_der(SignatureScheme scheme, std::string_view der) {
    const auto* cursor = bytes(der);
    PkeyPtr key(d2i_AutoPrivateKey(nullptr, &cursor, static_cast<long>(der.size())));
    if (!key || cursor != bytes(der) + der.size()) {
        return fail(ErrorCode::parse, "not a PKCS#8 private key: " + take_openssl_error());
    }
    if (auto matches = check_key_matches(key.get(), scheme); !matches) return fail(matches.error());
    auto handle = std::make_shared<Handle>();
    handle->key = std::move(key);
    return PrivateKey(scheme, std::move(handle));
}

Result<std::string> PrivateKey::to_pkcs8_der() const {
    PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(handle_->key.get());
    if (info == nullptr) return fail(ErrorCode::internal, "cannot encode the private key: " + take_openssl_error());
    unsigned char* der = nullptr;
    const int length = i2d_PKCS8_PRIV_KEY_INFO(info, &der);
    PKCS8_PRIV_KEY_INFO_free(info);
    if (length <= 0) return fail(ErrorCode::internal, "cannot encode the private key: " + take_openssl_error());
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
    OPENSSL_clear_free(der, static_cast<std::size_t>(length));
    return out;
}

Result<std::string> PrivateKey::sign(std::string_view message) const {
    auto context = make_context(handle_->key.get(), scheme_, true);
    if (!context) return fail(context.error());
    std::size_t length = 0;
    if (EVP_DigestSign(context->get(), nullptr, &length, bytes(message), message.size()) != 1) {
        return fail(ErrorCode::internal, "signing: " + take_openssl_error());
    }
    std::string signature(length, '\0');
    if (EVP_DigestSign(context->get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes(message),
                       message.size()) != 1) {
        return fail(ErrorCode::internal, "signing: " + take_openssl_error());
    }
    signature.resize(length);
    return signature;
}

std::string PrivateKey::public_value() const {
    if (scheme_ == SignatureScheme::ed25519) {
        std::array<unsigned char, kEd25519KeyBytes> raw{};
        std::size_t length = raw.size();
        if (EVP_PKEY_get_raw_public_key(handle_->key.get(), raw.data(), &length) != 1) return {};
        return hex_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), length));
    }
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), handle_->key.get()) != 1) return {};
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

}  // namespace bulkhead::crypto
