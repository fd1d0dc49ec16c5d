#include "secureboot/owner_keys.hpp"

#include <array>
#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

namespace bulkhead::secureboot {

namespace {

constexpr int kRsaBits = 4096;
constexpr long kValiditySeconds = 30L * 365 * 24 * 3600;
// OpenSSL's PKCS#8 decryption allows scrypt 32 MiB, so N stays at 2^14 (16 MiB); p = 8 makes
// a guess cost as much work as N = 2^17 would.
constexpr std::uint64_t kScryptN = std::uint64_t{1} << 14;
constexpr std::uint64_t kScryptR = 8;
constexpr std::uint64_t kScryptP = 8;

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* pointer) const noexcept { Free(pointer); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Certificate = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Pkcs8 = std::unique_ptr<PKCS8_PRIV_KEY_INFO, Deleter<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>>;
using Sig = std::unique_ptr<X509_SIG, Deleter<X509_SIG, X509_SIG_free>>;
using Algorithm = std::unique_ptr<X509_ALGOR, Deleter<X509_ALGOR, X509_ALGOR_free>>;

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

Failure openssl_failure(const char* what) {
    return fail(ErrorCode::internal, std::string("OpenSSL could not ") + what);
}

}  // namespace

Result<OwnerKey> generate_owner_key(std::string_view common_name, std::string_view passphrase) {
    if (passphrase.empty()) return fail(ErrorCode::invalid_argument, "an owner key needs a passphrase");
    const Key key(EVP_RSA_gen(kRsaBits));
    if (!key) return openssl_failure("generate an RSA key");
    const Certificate certificate(X509_new());
    if (!certificate) return openssl_failure("make a certificate");
    std::array<unsigned char, 16> serial{};
    if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) return openssl_failure("draw a serial");
    serial[0] &= 0x7FU;  // positive
    BIGNUM* serial_number = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
    const bool serial_set = serial_number != nullptr &&
                            BN_to_ASN1_INTEGER(serial_number, X509_get_serialNumber(certificate.get())) != nullptr;
    BN_free(serial_number);
    X509_NAME* name = X509_get_subject_name(certificate.get());
    const std::string cn(common_name);
    if (!serial_set || X509_set_version(certificate.get(), 2) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(certificate.get()), kValiditySeconds) == nullptr ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(certificate.get(), name) != 1 || X509_set_pubkey(certificate.get(), key.get()) != 1 ||
        X509_sign(certificate.get(), key.get(), EVP_sha256()) <= 0) {
        return openssl_failure("make the certificate");
    }
    OwnerKey owner;
    {
        const Bio bio(BIO_new(BIO_s_mem()));
        if (!bio || PEM_write_bio_X509(bio.get(), certificate.get()) != 1)
            return openssl_failure("write the certificate");
        owner.certificate_pem = bio_text(bio.get());
        unsigned char* der = nullptr;
        const int length = i2d_X509(certificate.get(), &der);
        if (length <= 0) return openssl_failure("encode the certificate");
        owner.certificate_der.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
        OPENSSL_free(der);
    }
    // PKCS#8 under PBES2 with scrypt and AES-256-CBC.
    std::array<unsigned char, 16> salt{};
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return openssl_failure("draw a salt");
    Algorithm pbe(PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt.data(), static_cast<int>(salt.size()), nullptr,
                                        kScryptN, kScryptR, kScryptP));
    const Pkcs8 info(EVP_PKEY2PKCS8(key.get()));
    if (!pbe || !info) return openssl_failure("prepare the key for encryption");
    const std::string secret(passphrase);
    // On success PKCS8_set0_pbe owns the algorithm.
    const Sig encrypted(PKCS8_set0_pbe(secret.c_str(), static_cast<int>(secret.size()), info.get(), pbe.get()));
    OPENSSL_cleanse(const_cast<char*>(secret.data()), secret.size());
    if (!encrypted) return openssl_failure("encrypt the key");
    (void)pbe.release();
    const Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PKCS8(bio.get(), encrypted.get()) != 1) return openssl_failure("write the key");
    owner.encrypted_key_pem = bio_text(bio.get());
    return owner;
}

Result<std::string> decrypt_owner_key(std::string_view encrypted_key_pem, std::string_view passphrase) {
    const Bio in(BIO_new_mem_buf(encrypted_key_pem.data(), static_cast<int>(encrypted_key_pem.size())));
    if (!in) return openssl_failure("read the key");
    std::string secret(passphrase);
    const Key key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, secret.data()));
    OPENSSL_cleanse(secret.data(), secret.size());
    if (!key) {
        return fail(ErrorCode::permission_denied,
                    "the key could not be decrypted: wrong passphrase or a damaged key file");
    }
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key.get()) < 2048) {
        return fail(ErrorCode::invalid_argument, "an owner key must be RSA of 2048 bits or more");
    }
    const Bio out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return openssl_failure("write the key");
    }
    return bio_text(out.get());
}

Result<std::string> certificate_der(std::string_view certificate_pem) {
    const Bio in(BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())));
    const Certificate certificate(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!certificate) return fail(ErrorCode::parse, "not a PEM certificate");
    unsigned char* der = nullptr;
    const int length = i2d_X509(certificate.get(), &der);
    if (length <= 0) return openssl_failure("encode the certificate");
    std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return bytes;
}

}  // namespace bulkhead::secureboot
