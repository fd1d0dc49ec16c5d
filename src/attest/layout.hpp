// The reproducibility policy written as an in-toto v0.9 layout, so that anyone can check a
// package and its links with another implementation (Debian's in-toto-verify): one step
// "rebuild" with the trusted keys and threshold, and an inspection that requires the package
// file in the working directory to match the step's products and allows nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "attest/policy.hpp"
#include "base/result.hpp"
#include "crypto/signature.hpp"

namespace bulkhead::attest {

// The signed layout as JSON text; `expires` is seconds since the epoch. The file name may not
// contain glob characters (in-toto's rules are globs).
Result<std::string> make_rebuild_layout(const RebuilderPolicy& policy, std::string_view package_file,
                                        std::int64_t expires, const crypto::PrivateKey& layout_key);

// A public key file as `in-toto-verify -k FILE -t ed25519` reads it.
std::string public_key_file(std::string_view public_hex);

}  // namespace bulkhead::attest
