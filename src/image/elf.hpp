// What a dynamically linked x86-64 program needs at run time, read from its ELF headers
// without running anything (ldd runs the dynamic loader on the file): the interpreter from
// PT_INTERP and the DT_NEEDED libraries from PT_DYNAMIC. Used to put exactly the libraries an
// executable of the system core needs into the core's root.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::image {

struct ElfDependencies {
    std::string interpreter;          // empty for a static executable or a library
    std::vector<std::string> needed;  // sonames, in file order
};

// Accepts only 64-bit little-endian x86-64 ELF files; every offset and size is checked.
Result<ElfDependencies> read_elf_dependencies(std::string_view file);

}  // namespace bulkhead::image
