// The A/B slots of a Bulkhead disk (docs/UPDATES.md): partitions named root-a/verity-a and
// root-b/verity-b. A slot holds the image whose root hash its partition UUIDs are derived from
// (the initrd finds its root by those UUIDs), so a slot is switched to a new image by writing
// the data first and the UUIDs last.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "bundle/bundle.hpp"
#include "gpt/gpt.hpp"
#include "update/verify_bundle.hpp"

namespace bulkhead::update {

struct Slot {
    char name = 'a';  // 'a' or 'b'
    gpt::Entry root;
    gpt::Entry verity;

    // Whether the slot's UUIDs are the ones derived from `root_hash` (raw bytes).
    [[nodiscard]] bool holds(std::string_view root_hash) const;
};

// A fresh random (version 4) partition UUID: for new partitions, and for a slot no image may find.
Result<gpt::Guid> random_partition_uuid();

// The two slots of the disk behind `disk_fd`, from its partition table.
Result<std::vector<Slot>> read_slots(int disk_fd, std::uint64_t disk_bytes);

// The steps of install_into_slot, in order. Each is durable before the next starts.
enum class InstallStep {
    entries_removed,  // (CoreDisk::install) the boot entries of the slot's old image are gone
    emptied,          // the slot's UUIDs are random: no image finds it any more
    written,          // root and verity written and synced
    verified,         // read back from the disk and matched against the signed hashes
    switched,         // the UUIDs now name the new image
    entry_added,      // (CoreDisk::install) the new image's boot entry is in place, with its tries
};
std::string_view install_step_name(InstallStep step) noexcept;

// Writes the verified bundle's root image and verity tree into slot `slot` of the disk and then
// gives the slot the new image's UUIDs. The slot is refused if the image is already in either
// slot or the partitions are too small. `after_step` is told of each step as it completes (for
// progress, and for tests that stop there as a crash would); an error from it stops the install.
// Whatever happens, the disk always has the other slot intact and this one either emptied or
// holding the complete new image.
Result<void> install_into_slot(int disk_fd, std::uint64_t disk_bytes, char slot, const bundle::Bundle& bundle,
                               const VerifiedBundle& verified,
                               const std::function<Result<void>(InstallStep)>& after_step);

}  // namespace bulkhead::update
