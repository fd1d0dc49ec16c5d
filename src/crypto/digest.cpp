#include "crypto/digest.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/openssl_handles.hpp"

namespace bulkhead::crypto {

namespace {

struct AlgorithmInfo {
    HashAlgorithm algorithm;
    std::string_view name;
    std::size_t size;
};

constexpr std::array<AlgorithmInfo, 6> kAlgorithms = {{
    {HashAlgorithm::sha256, "sha256", 32},
    {HashAlgorithm::sha384, "sha384", 48},
    {HashAlgorithm::sha512, "sha512", 64},
    {HashAlgorithm::sha3_256, "sha3-256", 32},
    {HashAlgorithm::sha3_384, "sha3-384", 48},
    {HashAlgorithm::sha3_512, "sha3-512", 64},
}};

const EVP_MD* evp_md(HashAlgorithm algorithm) {
    switch (algorithm) {
        case HashAlgorithm::sha256: return EVP_sha256();
        case HashAlgorithm::sha384: return EVP_sha384();
        case HashAlgorithm::sha512: return EVP_sha512();
        case HashAlgorithm::sha3_256: return EVP_sha3_256();
        case HashAlgorithm::sha3_384: return EVP_sha3_384();
        case HashAlgorithm::sha3_512: return EVP_sha3_512();
    }
    return EVP_sha256();
}

[[noreturn]] void openssl_failure(const char* what) {
    // Hashing fails only when memory runs out or OpenSSL is broken; no caller can recover.
    (void)std::fprintf(stderr, "bulkhead: fatal: OpenSSL %s failed: %s\n", what, take_openssl_error().c_str());
    std::abort();
}

}  // namespace

std::string take_openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "no OpenSSL error recorded";
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    return text.data();
}

Result<HashAlgorithm> hash_algorithm_from_name(std::string_view name) {
    for (const AlgorithmInfo& info : kAlgorithms) {
        if (info.name == name) return info.algorithm;
    }
    return fail(ErrorCode::unsupported, "unsupported hash algorithm '" + std::string(name) + "'");
}

std::string_view hash_algorithm_name(HashAlgorithm algorithm) noexcept {
    for (const AlgorithmInfo& info : kAlgorithms) {
        if (info.algorithm == algorithm) return info.name;
    }
    return "unknown";
}

std::size_t digest_size(HashAlgorithm algorithm) noexcept {
    for (const AlgorithmInfo& info : kAlgorithms) {
        if (info.algorithm == algorithm) return info.size;
    }
    return 0;
}

struct Hasher::State {
    MdCtxPtr context;
};

Hasher::Hasher(HashAlgorithm algorithm) : algorithm_(algorithm), state_(std::make_unique<State>()) {
    state_->context.reset(EVP_MD_CTX_new());
    if (!state_->context || EVP_DigestInit_ex(state_->context.get(), evp_md(algorithm), nullptr) != 1) {
        openssl_failure("digest initialisation");
    }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::string_view data) {
    if (EVP_DigestUpdate(state_->context.get(), data.data(), data.size()) != 1) openssl_failure("digest update");
}

std::string Hasher::finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(state_->context.get(), out.data(), &size) != 1) openssl_failure("digest finish");
    return {reinterpret_cast<const char*>(out.data()), size};
}

std::string digest(HashAlgorithm algorithm, std::string_view data) {
    Hasher hasher(algorithm);
    hasher.update(data);
    return hasher.finish();
}

bool constant_time_equal(std::string_view left, std::string_view right) noexcept {
    if (left.size() != right.size()) return false;
    return CRYPTO_memcmp(left.data(), right.data(), left.size()) == 0;
}

}  // namespace bulkhead::crypto
