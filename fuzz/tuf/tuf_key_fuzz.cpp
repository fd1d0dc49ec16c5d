// Fuzzes public key parsing (hex Ed25519, PEM ECDSA and RSA) and signature verification with
// attacker-chosen keys and signatures. The first byte picks the scheme, the second splits the
// rest into key and signature.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/signature.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    using bulkhead::crypto::SignatureScheme;
    constexpr SignatureScheme kSchemes[] = {SignatureScheme::ed25519,           SignatureScheme::ecdsa_p256_sha256,
                                            SignatureScheme::ecdsa_p384_sha384, SignatureScheme::rsa_pss_sha256,
                                            SignatureScheme::rsa_pss_sha384,    SignatureScheme::rsa_pss_sha512};
    const SignatureScheme scheme = kSchemes[data[0] % 6];
    const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::size_t split = rest.empty() ? 0 : data[1] % (rest.size() + 1);
    auto key = bulkhead::crypto::PublicKey::from_tuf(scheme, rest.substr(0, split));
    if (key) (void)key->verify("message", rest.substr(split));
    return 0;
}
