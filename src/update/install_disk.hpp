// The offline installer (`bulkhead install`): a new Bulkhead disk from a verified bundle, with
// no network at any point. It checks everything first (the bundle through TUF, the UKI and the
// boot manager against the owner's db certificate, the disk's size and that nothing uses it),
// and only then writes: the partition table, the EFI system partition (systemd-boot, its
// loader.conf, the owner's keys for enrolment in Setup Mode, the release's entry) and slot a.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "update/core_release.hpp"

namespace bulkhead::update {

struct InstallRequest {
    std::string disk;          // an existing disk image file or a whole-disk block device
    std::string bundle;        // an update bundle with a boot manager
    std::string keys;          // the owner's keys (bulkhead keys secureboot-init): *.auth and db.crt
    std::string trusted_root;  // the root.json to verify against; empty: the bundle's oldest root
};

struct DiskPlan {
    std::uint64_t esp_bytes = 0;
    std::uint64_t root_slot_bytes = 0;
    std::uint64_t verity_slot_bytes = 0;
    std::uint64_t state_bytes = 0;  // the rest of the disk
};

// The partition sizes for a release whose root and verity tree have these lengths on a disk of
// `disk_bytes`: slots with room to grow (twice the release, at least 256 MiB and 16 MiB), a
// 512 MiB ESP, and at least 64 MiB of state. too_large when the disk is smaller.
Result<DiskPlan> plan_disk(std::uint64_t disk_bytes, std::uint64_t root_bytes, std::uint64_t verity_bytes);

struct Installed {
    CoreRelease release;
    DiskPlan plan;
};

Result<Installed> install_disk(const InstallRequest& request);

}  // namespace bulkhead::update
