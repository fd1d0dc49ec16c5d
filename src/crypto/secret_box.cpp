#include "crypto/secret_box.hpp"

#include <memory>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "crypto/openssl_handles.hpp"

namespace bulkhead::crypto {

namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::uint64_t kMaxScryptMemory = std::uint64_t{1} << 30;

struct CipherCtxDeleter {
    void operator()(EVP_CIPHER_CTX* context) const noexcept { EVP_CIPHER_CTX_free(context); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* bytes(std::string_view data) { return reinterpret_cast<const unsigned char*>(data.data()); }
unsigned char* bytes(std::string& data) { return reinterpret_cast<unsigned char*>(data.data()); }

int as_int(std::size_t size) { return static_cast<int>(size); }

}  // namespace

Result<std::string> random_bytes(std::size_t count) {
    std::string out(count, '\0');
    if (RAND_bytes(bytes(out), as_int(count)) != 1) {
        return fail(ErrorCode::internal, "no secure randomness available: " + take_openssl_error());
    }
    return out;
}

void wipe(std::string& secret) noexcept {
    if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
    secret.clear();
}

Result<std::string> scrypt(std::string_view passphrase, std::string_view salt, const ScryptParameters& parameters,
                           std::size_t length) {
    const bool power_of_two = parameters.n != 0 && (parameters.n & (parameters.n - 1)) == 0;
    if (!power_of_two || parameters.n < (std::uint64_t{1} << 14) || parameters.r < 8 || parameters.p < 1) {
        return fail(ErrorCode::invalid_argument, "scrypt parameters are too weak (need N >= 2^14, r >= 8, p >= 1)");
    }
    if (parameters.p > 16 || parameters.r > 32 || 128 * parameters.r * parameters.n > kMaxScryptMemory) {
        return fail(ErrorCode::invalid_argument, "scrypt parameters need more than 1 GiB of memory");
    }
    std::string out(length, '\0');
    if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), bytes(salt), salt.size(), parameters.n, parameters.r,
                       parameters.p, kMaxScryptMemory + (std::uint64_t{1} << 20), bytes(out), length) != 1) {
        return fail(ErrorCode::internal, "scrypt failed: " + take_openssl_error());
    }
    return out;
}

Result<std::string> aes256_gcm_seal(std::string_view key, std::string_view nonce, std::string_view plaintext,
                                    std::string_view associated_data) {
    if (key.size() != kKeyBytes || nonce.size() != kNonceBytes) {
        return fail(ErrorCode::invalid_argument, "AES-256-GCM needs a 32-byte key and a 12-byte nonce");
    }
    const CipherCtxPtr context(EVP_CIPHER_CTX_new());
    std::string out(plaintext.size() + kTagBytes, '\0');
    int written = 0;
    int final_written = 0;
    if (!context || EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) != 1 ||
        EVP_EncryptUpdate(context.get(), nullptr, &written, bytes(associated_data), as_int(associated_data.size())) !=
            1 ||
        EVP_EncryptUpdate(context.get(), bytes(out), &written, bytes(plaintext), as_int(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(context.get(), bytes(out) + written, &final_written) != 1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, as_int(kTagBytes), bytes(out) + plaintext.size()) !=
            1) {
        return fail(ErrorCode::internal, "encryption failed: " + take_openssl_error());
    }
    return out;
}

Result<std::string> aes256_gcm_open(std::string_view key, std::string_view nonce, std::string_view sealed,
                                    std::string_view associated_data) {
    if (key.size() != kKeyBytes || nonce.size() != kNonceBytes || sealed.size() < kTagBytes) {
        return fail(ErrorCode::integrity, "sealed data is malformed");
    }
    const std::string_view ciphertext = sealed.substr(0, sealed.size() - kTagBytes);
    std::string tag(sealed.substr(ciphertext.size()));
    const CipherCtxPtr context(EVP_CIPHER_CTX_new());
    std::string out(ciphertext.size(), '\0');
    int written = 0;
    int final_written = 0;
    if (!context || EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) != 1 ||
        EVP_DecryptUpdate(context.get(), nullptr, &written, bytes(associated_data), as_int(associated_data.size())) !=
            1 ||
        EVP_DecryptUpdate(context.get(), bytes(out), &written, bytes(ciphertext), as_int(ciphertext.size())) != 1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, as_int(kTagBytes), bytes(tag)) != 1) {
        wipe(out);
        return fail(ErrorCode::internal, "decryption failed: " + take_openssl_error());
    }
    if (EVP_DecryptFinal_ex(context.get(), bytes(out) + written, &final_written) != 1) {
        wipe(out);
        take_openssl_error();
        return fail(ErrorCode::integrity, "authentication failed: wrong passphrase, or the data was modified");
    }
    return out;
}

}  // namespace bulkhead::crypto
