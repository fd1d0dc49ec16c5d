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
    std::uint64_t address = 0;      // image base + virtual address
    std::uint64_t size = 0;         // virtual size
    std::uint64_t file_offset = 0;  // where its bytes are in the file (PointerToRawData)
    std::uint64_t file_size = 0;    // how many are there (SizeOfRawData, file-aligned)
};

// The sections of a PE32+ image, every offset checked.
Result<std::vector<PeSection>> read_pe_sections(std::string_view image);

// The kernel command line a unified kernel image carries (its .cmdline section, up to its
// virtual size and without a trailing NUL), read from the file at `path`. Only the headers and
// that section are read.
Result<std::string> read_uki_command_line(const std::string& path);

// Writes the unsigned UKI to `output`; `work_dir` holds the small section files meanwhile.
Result<void> assemble_uki(const UkiParts& parts, const std::string& output, const std::string& objcopy,
                          const std::string& work_dir);

}  // namespace bulkhead::image
