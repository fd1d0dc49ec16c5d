// A Bulkhead disk as the update tool sees it: the two slots (partition table), the boot entries
// on the EFI system partition, and which slot each entry's image is in. Each entry's image is
// known from its unified kernel image's own signed command line (root hash, version, security
// version), never from its file name alone.
//
// Works on the running core's disk and on a disk image on a build machine alike.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "boot/boot_entries.hpp"
#include "boot/esp.hpp"
#include "bundle/bundle.hpp"
#include "initrd/boot_args.hpp"
#include "update/slots.hpp"
#include "update/verify_bundle.hpp"

namespace bulkhead::update {

struct InstalledEntry {
    boot::BootEntry entry;
    initrd::BootArgs image;    // from the entry's .cmdline
    std::optional<char> slot;  // the slot holding that image; none when it is gone
};

struct DiskStatus {
    std::vector<Slot> slots;
    std::vector<InstalledEntry> entries;  // in the order systemd-boot starts them
    std::vector<std::string> unreadable;  // our entries whose image could not be read (named, with why)
};

class CoreDisk {
public:
    // `path` is a disk image file or a whole-disk block device, opened read-write.
    static Result<CoreDisk> open(const std::string& path);

    [[nodiscard]] Result<DiskStatus> status() const;

    // Installs a verified bundle into `slot`: removes the boot entries of the image the slot
    // held, writes the slot (install_into_slot), then adds the new image's entry with
    // boot::kDefaultTries tries. The UKI is checked against the signed metadata again as it is
    // copied out of the bundle, and its command line must name the release's root hash and
    // security version. `after_step` as for install_into_slot, with the two entry steps.
    // `db_certificate`: the owner's db certificate the UKI's Secure Boot signature must verify
    // against (sbverify) before anything is changed; empty only in tests of the slot logic.
    // `before_changes` runs once every check has passed, before anything on the disk changes
    // (where the caller keeps the bundle's TUF metadata as the disk's baseline).
    [[nodiscard]] Result<void> install(const bundle::Bundle& bundle, const VerifiedBundle& verified, char slot,
                                       const std::function<Result<void>(InstallStep)>& after_step,
                                       const std::string& db_certificate = {},
                                       const std::function<void()>& before_changes = {}) const;

    // Drops the try counter from the entry of `release`: it is known to come up.
    [[nodiscard]] Result<boot::BootEntry> bless(std::int64_t release) const;

    // Marks the entry of `release` as having no tries left, so systemd-boot starts the next one.
    [[nodiscard]] Result<boot::BootEntry> retire(std::int64_t release) const;

    [[nodiscard]] const std::string& path() const { return path_; }
    // The disk's EFI system partition (where update/trusted_state.hpp keeps the TUF baseline).
    [[nodiscard]] const boot::Esp& esp() const { return esp_; }

private:
    CoreDisk(UniqueFd fd, std::string path, std::uint64_t size, std::uint64_t esp_offset)
        : fd_(std::move(fd)), path_(std::move(path)), size_(size), esp_(path_, esp_offset) {}
    [[nodiscard]] Result<initrd::BootArgs> entry_image(const std::string& file_name) const;
    [[nodiscard]] Result<boot::BootEntry> rename_entry(std::int64_t release, const boot::BootEntry& to) const;

    UniqueFd fd_;
    std::string path_;
    std::uint64_t size_;
    boot::Esp esp_;
};

}  // namespace bulkhead::update

namespace bulkhead::update {

// The entry of the running image: the one whose image has `booted_root_hash` (raw bytes, from
// the kernel command line), or, when nothing is booted from this disk (a disk image on a build
// machine), the entry systemd-boot would start.
const InstalledEntry* booted_entry(const DiskStatus& status, const std::optional<std::string>& booted_root_hash);

// Where an update goes: the slot that does not hold the booted (or default) image.
Result<char> update_slot(const DiskStatus& status, const std::optional<std::string>& booted_root_hash);

// What a rollback would start instead of the booted image: the first entry, in boot order, of
// an image in the other slot that still has tries left (or is blessed).
Result<const InstalledEntry*> rollback_entry(const DiskStatus& status,
                                             const std::optional<std::string>& booted_root_hash);

}  // namespace bulkhead::update
