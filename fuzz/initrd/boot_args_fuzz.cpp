// Fuzzes the initrd's reading of the kernel command line: any text may be refused, never
// crash; accepted arguments hold a 32- or 64-byte root hash and a short, plain version.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "initrd/boot_args.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto args = bulkhead::initrd::parse_boot_args(text);
    if (!args) return 0;
    if ((args->root_hash.size() != 32 && args->root_hash.size() != 64) || args->version.empty() ||
        args->version.size() > 64 || args->version.find_first_of(" /\n") != std::string::npos ||
        args->security_version > 65535) {
        std::abort();
    }
    return 0;
}
