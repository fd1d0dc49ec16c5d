// Private signing keys at rest: the "bulkhead-key/1" file format.
//
// A key file is JSON holding the TUF public key object (so `bulkhead keys public` needs no
// passphrase) and the private key as PKCS#8 DER, encrypted with AES-256-GCM under a key derived
// from the passphrase with scrypt (N = 2^17, r = 8, p = 1: 128 MiB and about half a second per
// unlock, which makes guessing offline expensive). GCM authenticates, so a wrong passphrase or
// a modified file is detected, never silently accepted. Plaintext files exist only when asked
// for explicitly (--insecure-plaintext, for tests).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/signature.hpp"
#include "json/value.hpp"

namespace bulkhead::tuf_repo {

// The key types `bulkhead keys generate --type` offers.
Result<crypto::SignatureScheme> key_type_from_name(std::string_view name);

struct KdfParameters {
    std::uint64_t n = std::uint64_t{1} << 17;
    std::uint64_t r = 8;
    std::uint64_t p = 1;
};

struct KeyIdentity {
    std::string keyid;          // TUF keyid of the public key object
    json::Value public_object;  // {"keytype", "scheme", "keyval": {"public"}}
    crypto::SignatureScheme scheme = crypto::SignatureScheme::ed25519;
};

struct SigningKey {
    crypto::PrivateKey key;
    KeyIdentity identity;
};

// Serialises a new key file. With no passphrase the private key is stored in the clear.
Result<std::string> write_key_file(const crypto::PrivateKey& key, const std::optional<std::string>& passphrase,
                                   const KdfParameters& kdf = {});

// Reads the public part only (no passphrase needed), from a key file or from the
// "bulkhead.key/1" document `bulkhead keys public --json` prints.
Result<KeyIdentity> read_public_key(std::string_view file_bytes);

// Whether unlocking the key file needs a passphrase.
Result<bool> key_file_is_encrypted(std::string_view file_bytes);

// Reads and decrypts a key file. An encrypted file without a passphrase, a wrong passphrase and
// a modified file are all refused with a clear error.
Result<SigningKey> read_key_file(std::string_view file_bytes, const std::optional<std::string>& passphrase);

}  // namespace bulkhead::tuf_repo
