// A published release of the system core, as its TUF targets describe it. Each release is three
// targets, core/RELEASE/{bulkhead.efi,root.verity,root.erofs}, and optionally a fourth,
// core/RELEASE/systemd-bootx64.efi, whose custom metadata all carry
//   {"bulkhead_core": {"release": N, "version": "V", "security_version": S,
//                      "root_hash": "HEX", "part": "uki" | "verity" | "root" | "boot_manager"}}
// `release` orders releases (a publisher's counter, 1 and up); `version` is the image's own
// version for people; `security_version` is what the TPM floor counts; `root_hash` is the
// dm-verity root hash that the UKI's signed command line also carries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "base/result.hpp"
#include "json/value.hpp"

namespace bulkhead::update {

// boot_manager (the signed systemd-boot) is optional: installs need it, slot updates do not.
enum class Part { uki, verity, root, boot_manager };

struct CoreRelease {
    std::int64_t release = 0;
    std::string version;
    std::uint32_t security_version = 0;
    std::string root_hash;  // lower-case hex, 64 or 128 digits

    friend bool operator==(const CoreRelease&, const CoreRelease&) = default;
};

std::string_view part_name(Part part) noexcept;

// "core/RELEASE/bulkhead.efi", ".../root.verity", ".../root.erofs", ".../systemd-bootx64.efi".
std::string core_target_path(std::int64_t release, Part part);

// The custom metadata of one of a release's targets.
json::Value core_custom(const CoreRelease& release, Part part);

// Reads a target's custom metadata strictly: nullopt when it has no "bulkhead_core" member (not
// a core target), an error when that member breaks any rule.
Result<std::optional<std::pair<CoreRelease, Part>>> parse_core_custom(const std::optional<json::Value>& custom);

}  // namespace bulkhead::update
