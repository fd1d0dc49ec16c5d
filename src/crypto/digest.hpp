// Cryptographic hashes by TUF name. Only current, unbroken algorithms are known; anything else
// (md5, sha1, a misspelling) is refused rather than skipped.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::crypto {

enum class HashAlgorithm { sha256, sha384, sha512, sha3_256, sha3_384, sha3_512 };

// "sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512".
Result<HashAlgorithm> hash_algorithm_from_name(std::string_view name);
std::string_view hash_algorithm_name(HashAlgorithm algorithm) noexcept;
std::size_t digest_size(HashAlgorithm algorithm) noexcept;

// The raw digest of data.
std::string digest(HashAlgorithm algorithm, std::string_view data);

// Incremental hashing, for downloads that arrive in pieces.
class Hasher {
public:
    explicit Hasher(HashAlgorithm algorithm);
    ~Hasher();
    Hasher(Hasher&& other) noexcept;
    Hasher& operator=(Hasher&& other) noexcept;
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    void update(std::string_view data);
    // The raw digest; the hasher cannot be used afterwards.
    std::string finish();
    [[nodiscard]] HashAlgorithm algorithm() const noexcept { return algorithm_; }

private:
    struct State;
    HashAlgorithm algorithm_;
    std::unique_ptr<State> state_;
};

// Compares two byte strings in time that depends only on their lengths.
bool constant_time_equal(std::string_view left, std::string_view right) noexcept;

}  // namespace bulkhead::crypto
