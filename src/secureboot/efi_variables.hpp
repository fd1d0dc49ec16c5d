// What the firmware's key databases are made of (UEFI spec, "Signature Database" and "Using
// the EFI_VARIABLE_AUTHENTICATION_2 descriptor"): EFI_SIGNATURE_LISTs holding one X.509
// certificate each, and signed updates (.auth files) that a firmware in setup or user mode
// applies with SetVariable. Byte layouts: docs/IMAGE.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "gpt/gpt.hpp"

namespace bulkhead::secureboot {

// EFI_GLOBAL_VARIABLE (PK, KEK) and EFI_IMAGE_SECURITY_DATABASE_GUID (db, dbx).
inline constexpr std::string_view kGlobalVariableGuid = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
inline constexpr std::string_view kImageSecurityDatabaseGuid = "d719b2cb-3d3a-4596-a3bc-dad00e67656f";
// NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS | TIME_BASED_AUTHENTICATED_WRITE_ACCESS
inline constexpr std::uint32_t kAuthenticatedAttributes = 0x27;

struct EfiTime {
    std::uint16_t year = 0;
    std::uint8_t month = 0;
    std::uint8_t day = 0;
    std::uint8_t hour = 0;
    std::uint8_t minute = 0;
    std::uint8_t second = 0;
};

// An EFI_SIGNATURE_LIST of type EFI_CERT_X509_GUID with one certificate (DER).
std::string signature_list(std::string_view certificate_der, const gpt::Guid& owner);

// The vendor GUID of a key variable: global for PK and KEK, the image database for db.
Result<gpt::Guid> variable_vendor(std::string_view name);

// A signed update of variable `name` ("PK", "KEK", "db") to `data` (signature lists), dated
// `time`: EFI_TIME, a WIN_CERTIFICATE_UEFI_GUID with a detached PKCS#7 SignedData (SHA-256,
// no signed attributes) over name (UTF-16LE), vendor GUID, attributes, time and data; then the
// data. `signer_key_pem` is the signer's unencrypted private key (a secret).
Result<std::string> signed_update(std::string_view name, const EfiTime& time, std::string_view data,
                                  std::string_view signer_key_pem, std::string_view signer_certificate_pem);

}  // namespace bulkhead::secureboot
