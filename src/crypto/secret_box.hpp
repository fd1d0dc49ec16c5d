// Passphrase-based encryption for secrets at rest: scrypt to derive a key, AES-256-GCM to
// encrypt and authenticate. Also the randomness and the wiping that go with it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::crypto {

// Cryptographically secure random bytes (OpenSSL's DRBG, seeded by the kernel).
Result<std::string> random_bytes(std::size_t count);

// Overwrites a secret in memory in a way the compiler cannot optimise away.
void wipe(std::string& secret) noexcept;

struct ScryptParameters {
    std::uint64_t n = 0;
    std::uint64_t r = 0;
    std::uint64_t p = 0;
};

// Refuses parameters weaker than N = 2^14, r = 8, p = 1 or needing more than 1 GiB.
Result<std::string> scrypt(std::string_view passphrase, std::string_view salt, const ScryptParameters& parameters,
                           std::size_t length);

// AES-256-GCM with a 12-byte nonce; the result is ciphertext followed by the 16-byte tag.
Result<std::string> aes256_gcm_seal(std::string_view key, std::string_view nonce, std::string_view plaintext,
                                    std::string_view associated_data);
// Fails with integrity when the tag does not verify (wrong key, or modified data).
Result<std::string> aes256_gcm_open(std::string_view key, std::string_view nonce, std::string_view sealed,
                                    std::string_view associated_data);

}  // namespace bulkhead::crypto
