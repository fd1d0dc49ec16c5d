// The owner's Secure Boot keys (PK, KEK, db): RSA-4096 with self-signed SHA-256 certificates,
// the strongest the firmware accepts (OVMF 2022.11 accepts RSA 2048-4096 and refuses ECDSA
// for image signatures and variable updates; docs/IMAGE.md). Private keys are stored as
// PKCS#8 encrypted with AES-256-CBC under a scrypt-derived key (N = 2^14, r = 8, p = 8), in
// the standard "ENCRYPTED PRIVATE KEY" PEM form that OpenSSL and sbsign's tooling read.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::secureboot {

struct OwnerKey {
    std::string encrypted_key_pem;  // safe at rest
    std::string certificate_pem;
    std::string certificate_der;
};

// A new key and its self-signed certificate ("CN=<common_name>", valid for 30 years).
Result<OwnerKey> generate_owner_key(std::string_view common_name, std::string_view passphrase);

// The private key as unencrypted PKCS#8 PEM: a secret, to be wiped after use
// (crypto::wipe). A wrong passphrase is refused.
Result<std::string> decrypt_owner_key(std::string_view encrypted_key_pem, std::string_view passphrase);

// DER of a PEM certificate.
Result<std::string> certificate_der(std::string_view certificate_pem);

}  // namespace bulkhead::secureboot
