// What the initrd takes from the kernel command line, which the signed unified kernel image
// carries (so it is as trusted as the kernel): the verity root hash of the root file system
// and the image version. Parsed strictly all the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::initrd {

struct BootArgs {
    std::string root_hash;  // raw: 32 (sha256) or 64 (sha512) bytes
    std::string version;    // the image version, [A-Za-z0-9._-], 1 to 64 characters
    // The image's security version, compared with the TPM's anti-rollback floor before the root
    // is mounted (docs/UPDATES.md); 0 to 65535.
    std::uint32_t security_version = 0;
};

// Reads `bulkhead.verity=<hex>`, `bulkhead.version=<text>` and `bulkhead.security=<decimal>`
// (all required, once each) from a command line; other words are the kernel's.
Result<BootArgs> parse_boot_args(std::string_view command_line);

}  // namespace bulkhead::initrd
