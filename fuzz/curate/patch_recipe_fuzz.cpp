// Fuzzes the patchless verdict's readers of .SRCINFO and PKGBUILD (recipes come from the
// distribution's source repositories): never crash or hang; a verdict is patched exactly when
// there are findings. Input: .SRCINFO, a NUL byte, then the PKGBUILD.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "curate/patches.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto split = input.find('\0');
    if (split == std::string_view::npos) return 0;
    const auto srcinfo = input.substr(0, split);
    const auto pkgbuild = input.substr(split + 1);
    const auto sha256 =
        bulkhead::hex_encode(bulkhead::crypto::digest(bulkhead::crypto::HashAlgorithm::sha256, pkgbuild));
    auto evidence = bulkhead::curate::assess_patches(srcinfo, pkgbuild, sha256);
    if (!evidence) return 0;
    const bool patched = evidence->verdict == bulkhead::curate::PatchVerdict::patched;
    if (patched == evidence->findings.empty() || evidence->pkgbuild_sha256 != sha256) std::abort();
    return 0;
}
