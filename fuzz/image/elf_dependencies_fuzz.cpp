// Fuzzes the ELF dependency reader (it reads every executable put into the system image): any
// bytes may be refused, never crash; accepted names are plain file names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "image/elf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto dependencies = bulkhead::image::read_elf_dependencies(bytes);
    if (!dependencies) return 0;
    for (const auto& name : dependencies->needed) {
        if (name.empty() || name.find('/') != std::string::npos) std::abort();
    }
    return 0;
}
