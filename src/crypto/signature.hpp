// Public-key signatures in the schemes TUF uses: Ed25519, ECDSA on P-256/P-384, RSA-PSS.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::crypto {

enum class SignatureScheme {
    ed25519,            // keytype "ed25519", public key as 64 hex digits
    ecdsa_p256_sha256,  // scheme "ecdsa-sha2-nistp256", PEM SubjectPublicKeyInfo, DER signature
    ecdsa_p384_sha384,  // scheme "ecdsa-sha2-nistp384"
    rsa_pss_sha256,     // keytype "rsa", scheme "rsassa-pss-sha256", PEM, at least 2048 bits
    rsa_pss_sha384,
    rsa_pss_sha512,
};

// Resolves a TUF (keytype, scheme) pair. Accepts keytype "ecdsa" and the older
// "ecdsa-sha2-nistp256"/"-nistp384" keytypes; anything else is unsupported.
Result<SignatureScheme> scheme_from_tuf(std::string_view keytype, std::string_view scheme);
std::string_view tuf_keytype(SignatureScheme scheme) noexcept;
std::string_view tuf_scheme(SignatureScheme scheme) noexcept;

class PublicKey {
public:
    // `public_value` is keyval.public of a TUF key: hex for Ed25519, PEM otherwise.
    static Result<PublicKey> from_tuf(SignatureScheme scheme, std::string_view public_value);

    // True only for a valid signature over exactly `message`. Never throws, never aborts on
    // hostile input: a malformed signature is simply not valid.
    [[nodiscard]] bool verify(std::string_view message, std::string_view signature) const;
    [[nodiscard]] SignatureScheme scheme() const noexcept { return scheme_; }
    // SHA-256 of the DER SubjectPublicKeyInfo: equal for equal keys however they were encoded.
    [[nodiscard]] const std::string& fingerprint() const noexcept;

private:
    struct Handle;
    PublicKey(SignatureScheme scheme, std::shared_ptr<Handle> handle) : scheme_(scheme), handle_(std::move(handle)) {}

    SignatureScheme scheme_;
    std::shared_ptr<Handle> handle_;  // immutable once built, so copies share it
};

class PrivateKey {
public:
    static Result<PrivateKey> generate(SignatureScheme scheme);
    // Reads an unencrypted PKCS#8 DER private key and checks that it suits the scheme.
    static Result<PrivateKey> from_pkcs8_der(SignatureScheme scheme, std::string_view der);

    // Unencrypted PKCS#8 DER. A secret: callers encrypt it and wipe it (crypto::wipe).
    [[nodiscard]] Result<std::string> to_pkcs8_der() const;

    [[nodiscard]] Result<std::string> sign(std::string_view message) const;
    // keyval.public in TUF form (hex for Ed25519, PEM SubjectPublicKeyInfo otherwise).
    [[nodiscard]] std::string public_value() const;
    [[nodiscard]] SignatureScheme scheme() const noexcept { return scheme_; }

private:
    struct Handle;
    PrivateKey(SignatureScheme scheme, std::shared_ptr<Handle> handle) : scheme_(scheme), handle_(std::move(handle)) {}

    SignatureScheme scheme_;
    std::shared_ptr<Handle> handle_;
};

}  // namespace bulkhead::crypto
