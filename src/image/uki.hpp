// Unified kernel images: systemd's EFI stub with the sections it reads added by objcopy, each
// placed after the stub's last section and 4 KiB aligned (as systemd-stub(7) describes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::image {

struct UkiParts {
    std::string stub;          // linuxx64.efi.stub
    std::string kernel;        // .linux
    std::string initrd;        // .initrd
    std::string command_line;  // .cmdline
    std::string os_release;    // .osrel
};

struct PeSection {
    std::string name;
    std::uint64_t address = 0;  // image base + virtual address
    std::uint64_t size = 0;     // virtual size
};

// The sections of a PE32+ image, every offset checked.
Result<std::vector<PeSection>> read_pe_sections(std::string_view image);

// Writes the unsigned UKI to `output`; `work_dir` holds the small section files meanwhile.
Result<void> assemble_uki(const UkiParts& parts, const std::string& output, const std::string& objcopy,
                          const std::string& work_dir);

}  // namespace bulkhead::image
