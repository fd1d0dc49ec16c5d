#include "secureboot/efi_variables.hpp"

#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "base/bytes.hpp"

namespace bulkhead::secureboot {

namespace {

constexpr std::string_view kCertX509Guid = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072";
constexpr std::string_view kCertTypePkcs7Guid = "4aafd29d-68df-49ee-8aa9-347d375665a7";
constexpr std::uint16_t kWinCertRevision = 0x0200;
constexpr std::uint16_t kWinCertTypeEfiGuid = 0x0EF1;

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* pointer) const noexcept { Free(pointer); }
};

std::string guid_bytes(std::string_view text) { return gpt::guid_disk_bytes(*gpt::parse_guid(text)); }

std::string efi_time_bytes(const EfiTime& time) {
    std::string out;
    append_le(out, time.year, 2);
    for (const std::uint8_t field : {time.month, time.day, time.hour, time.minute, time.second})
        append_le(out, field, 1);
    out.append(9, '\0');  // pad, nanosecond, time zone, daylight, pad
    return out;
}

}  // namespace

std::string signature_list(std::string_view certificate_der, const gpt::Guid& owner) {
    std::string list = guid_bytes(kCertX509Guid);
    const std::uint64_t signature_size = 16 + certificate_der.size();
    append_le(list, 28 + signature_size, 4);  // list size
    append_le(list, 0, 4);                    // header size
    append_le(list, signature_size, 4);
    list += gpt::guid_disk_bytes(owner);
    list += certificate_der;
    return list;
}

Result<gpt::Guid> variable_vendor(std::string_view name) {
    if (name == "PK" || name == "KEK") return *gpt::parse_guid(kGlobalVariableGuid);
    if (name == "db" || name == "dbx") return *gpt::parse_guid(kImageSecurityDatabaseGuid);
    return fail(ErrorCode::invalid_argument, "no key variable named " + std::string(name));
}

Result<std::string> signed_update(std::string_view name, const EfiTime& time, std::string_view data,
                                  std::string_view signer_key_pem, std::string_view signer_certificate_pem) {
    auto vendor = variable_vendor(name);
    if (!vendor) return fail(vendor.error());
    std::string signed_bytes;
    for (const char c : name) append_le(signed_bytes, static_cast<unsigned char>(c), 2);
    signed_bytes += gpt::guid_disk_bytes(*vendor);
    append_le(signed_bytes, kAuthenticatedAttributes, 4);
    signed_bytes += efi_time_bytes(time);
    signed_bytes += data;

    using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
    const Bio key_in(BIO_new_mem_buf(signer_key_pem.data(), static_cast<int>(signer_key_pem.size())));
    const Bio cert_in(BIO_new_mem_buf(signer_certificate_pem.data(), static_cast<int>(signer_certificate_pem.size())));
    const std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>> key(
        key_in ? PEM_read_bio_PrivateKey(key_in.get(), nullptr, nullptr, nullptr) : nullptr);
    const std::unique_ptr<X509, Deleter<X509, X509_free>> certificate(
        cert_in ? PEM_read_bio_X509(cert_in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key || !certificate)
        return fail(ErrorCode::invalid_argument, "the signer's key or certificate cannot be read");
    if (X509_check_private_key(certificate.get(), key.get()) != 1) {
        return fail(ErrorCode::invalid_argument, "the signer's key does not belong to its certificate");
    }
    const Bio content(BIO_new_mem_buf(signed_bytes.data(), static_cast<int>(signed_bytes.size())));
    // Detached SignedData, SHA-256, no signed attributes: what the firmware checks (it expects
    // the SHA-256 OID at a fixed place in the structure).
    const std::unique_ptr<PKCS7, Deleter<PKCS7, PKCS7_free>> pkcs7(
        PKCS7_sign(nullptr, nullptr, nullptr, nullptr, PKCS7_BINARY | PKCS7_DETACHED | PKCS7_NOATTR | PKCS7_PARTIAL));
    if (!pkcs7 ||
        PKCS7_sign_add_signer(pkcs7.get(), certificate.get(), key.get(), EVP_sha256(),
                              PKCS7_BINARY | PKCS7_NOATTR | PKCS7_NOSMIMECAP) == nullptr ||
        PKCS7_final(pkcs7.get(), content.get(), PKCS7_BINARY | PKCS7_DETACHED | PKCS7_NOATTR) != 1) {
        return fail(ErrorCode::internal, "OpenSSL could not sign the variable update");
    }
    unsigned char* der = nullptr;
    const int length = i2d_PKCS7_SIGNED(pkcs7->d.sign, &der);
    if (length <= 0) return fail(ErrorCode::internal, "OpenSSL could not encode the signature");
    const std::string signature(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);

    std::string update = efi_time_bytes(time);
    append_le(update, 24 + signature.size(), 4);  // WIN_CERTIFICATE dwLength
    append_le(update, kWinCertRevision, 2);
    append_le(update, kWinCertTypeEfiGuid, 2);
    update += guid_bytes(kCertTypePkcs7Guid);
    update += signature;
    update += data;
    return update;
}

}  // namespace bulkhead::secureboot
