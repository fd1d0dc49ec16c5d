// Our boot entries for systemd-boot (Debian 12's 252): one signed unified kernel image per
// installed core release in EFI/Linux, named
//   bulkhead-RELEASE+LEFT-DONE.efi   being tried: LEFT tries left, DONE tries used
//   bulkhead-RELEASE.efi             blessed: known to come up
// systemd-boot takes one try before it starts an entry (renaming the file), sorts entries with
// no tries left last and the others by name, newest first, and starts the first one that
// matches loader.conf's `default bulkhead-*`. So a new release is tried a few times, and when
// its tries run out the machine falls back to the blessed one by itself. Blessing drops the
// counter from the name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::boot {

inline constexpr const char* kEntriesDir = "EFI/Linux";
inline constexpr std::uint32_t kDefaultTries = 3;

struct BootEntry {
    std::int64_t release = 0;
    std::optional<std::uint32_t> tries_left;  // nullopt: blessed, no counting
    std::uint32_t tries_done = 0;

    [[nodiscard]] bool blessed() const { return !tries_left.has_value(); }
    [[nodiscard]] std::string file_name() const;
    friend bool operator==(const BootEntry&, const BootEntry&) = default;
};

// Reads a file name in EFI/Linux; not_found for names that are not ours (left alone), parse
// for names that claim to be ours but break the grammar.
Result<BootEntry> parse_entry_name(std::string_view name);

// The entries in the order systemd-boot 252 considers them: the first is started by default.
std::vector<BootEntry> boot_order(std::vector<BootEntry> entries);

// loader/loader.conf: no menu, no editor, no automatic entries, our entries only, and the
// owner's keys enrolled from loader/keys/auto when the firmware is in Setup Mode.
std::string loader_conf();

// The value of one of systemd-boot's string variables as efivarfs shows it (4 bytes of
// attributes, then UTF-16LE text ending in a NUL), e.g. LoaderBootCountPath; ASCII only.
Result<std::string> parse_loader_string_variable(std::string_view efivarfs_bytes);

// systemd-boot's vendor GUID for its variables.
inline constexpr const char* kLoaderVendorGuid = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

}  // namespace bulkhead::boot
