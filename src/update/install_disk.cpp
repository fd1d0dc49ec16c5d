#include "update/install_disk.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "boot/boot_entries.hpp"
#include "boot/esp.hpp"
#include "bundle/bundle.hpp"
#include "gpt/gpt.hpp"
#include "tuf/time.hpp"
#include "update/release_files.hpp"
#include "update/slots.hpp"
#include "update/trusted_state.hpp"
#include "update/verify_bundle.hpp"

namespace bulkhead::update {

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kEspBytes = 512 * kMiB;
constexpr std::uint64_t kMinRootSlot = 256 * kMiB;
constexpr std::uint64_t kMinVeritySlot = 16 * kMiB;
constexpr std::uint64_t kMinState = 64 * kMiB;
constexpr std::size_t kMaxRootBytes = std::size_t{1} << 20;

std::uint64_t round_up_mib(std::uint64_t bytes) { return (bytes + kMiB - 1) / kMiB * kMiB; }

struct OpenedDisk {
    UniqueFd fd;
    std::uint64_t size = 0;
};

// The disk, opened so that nothing else can use it meanwhile: a block device exclusively (the
// kernel refuses while a partition is mounted), a file only when no one holds a lock on it
// (QEMU locks the images it runs).
Result<OpenedDisk> open_disk(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return fail(Error::from_errno(errno, "reading " + path));
    OpenedDisk disk;
    if (S_ISBLK(info.st_mode)) {
        disk.fd.reset(::open(path.c_str(), O_RDWR | O_EXCL | O_CLOEXEC));
        if (!disk.fd.valid()) {
            if (errno == EBUSY) return fail(ErrorCode::invalid_argument, path + " is in use (a partition is mounted?)");
            return fail(Error::from_errno(errno, "opening " + path));
        }
        if (::ioctl(disk.fd.get(), BLKGETSIZE64, &disk.size) != 0) {
            return fail(Error::from_errno(errno, "sizing " + path));
        }
        int sector = 0;
        if (::ioctl(disk.fd.get(), BLKSSZGET, &sector) != 0) return fail(Error::from_errno(errno, "sizing " + path));
        if (sector != static_cast<int>(gpt::kSectorBytes)) {
            return fail(ErrorCode::unsupported, concat({path, " has ", std::to_string(sector),
                                                        "-byte sectors; only 512-byte sectors are supported"}));
        }
        return disk;
    }
    if (!S_ISREG(info.st_mode)) {
        return fail(ErrorCode::invalid_argument, path + " is neither a disk image file nor a block device");
    }
    disk.fd.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
    if (!disk.fd.valid()) return fail(Error::from_errno(errno, "opening " + path));
    // Held until the install ends: nothing else may use the disk meanwhile (QEMU locks its images
    // the same way, and so do our own update commands).
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (::fcntl(disk.fd.get(), F_OFD_SETLK, &lock) != 0) {
        if (errno == EAGAIN || errno == EACCES) {
            return fail(ErrorCode::invalid_argument, path + " is in use (another program locks it)");
        }
        return fail(Error::from_errno(errno, "locking " + path));
    }
    if (::fstat(disk.fd.get(), &info) != 0) return fail(Error::from_errno(errno, "reading " + path));
    disk.size = static_cast<std::uint64_t>(info.st_size);
    if (disk.size % gpt::kSectorBytes != 0) {
        return fail(ErrorCode::invalid_argument, path + " is not a whole number of 512-byte sectors");
    }
    return disk;
}

// Copies the data extents of `image` (a sparse file system image) to `disk_fd` at `offset`.
// Its holes are free space of the file system, which nothing reads.
Result<void> copy_extents(const std::string& image, int disk_fd, std::uint64_t offset) {
    const UniqueFd in(::open(image.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) return fail(Error::from_errno(errno, "opening " + image));
    std::string buffer(kMiB, '\0');
    off_t at = 0;
    for (;;) {
        const off_t data = ::lseek(in.get(), at, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) return {};
            return fail(Error::from_errno(errno, "reading " + image));
        }
        const off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
        if (hole < 0) return fail(Error::from_errno(errno, "reading " + image));
        for (off_t position = data; position < hole;) {
            const auto want = static_cast<std::size_t>(std::min<off_t>(static_cast<off_t>(kMiB), hole - position));
            const ssize_t got = ::pread(in.get(), buffer.data(), want, position);
            if (got <= 0) return fail(Error::from_errno(errno, "reading " + image));
            std::size_t done = 0;
            while (done < static_cast<std::size_t>(got)) {
                const ssize_t put = ::pwrite(disk_fd, buffer.data() + done, static_cast<std::size_t>(got) - done,
                                             static_cast<off_t>(offset) + position + static_cast<off_t>(done));
                if (put < 0 && errno == EINTR) continue;
                if (put <= 0) return fail(Error::from_errno(errno, "writing the EFI system partition"));
                done += static_cast<std::size_t>(put);
            }
            position += got;
        }
        at = hole;
    }
}

}  // namespace

Result<DiskPlan> plan_disk(std::uint64_t disk_bytes, std::uint64_t root_bytes, std::uint64_t verity_bytes) {
    DiskPlan plan;
    plan.esp_bytes = kEspBytes;
    plan.root_slot_bytes = std::max(kMinRootSlot, round_up_mib(root_bytes * 2));
    plan.verity_slot_bytes = std::max(kMinVeritySlot, round_up_mib(verity_bytes * 2));
    // 1 MiB before the first partition and 1 MiB after the last (the backup table).
    const std::uint64_t fixed = 2 * kMiB + plan.esp_bytes + 2 * (plan.root_slot_bytes + plan.verity_slot_bytes);
    const std::uint64_t usable = disk_bytes / kMiB * kMiB;
    if (usable < fixed + kMinState) {
        return fail(ErrorCode::too_large, concat({"the disk has ", std::to_string(disk_bytes / kMiB),
                                                  " MiB, but this release needs at least ",
                                                  std::to_string((fixed + kMinState) / kMiB), " MiB"}));
    }
    plan.state_bytes = usable - fixed;
    return plan;
}

Result<Installed> install_disk(const InstallRequest& request) {
    // 1. Every check, with nothing written.
    auto opened = bundle::Bundle::open(request.bundle);
    if (!opened) return fail(opened.error());
    std::string trusted_root;
    if (!request.trusted_root.empty()) {
        auto root = read_file_bounded(request.trusted_root, kMaxRootBytes);
        if (!root) return fail(root.error());
        trusted_root = std::move(*root);
    } else {
        const auto roots = opened->layout().roots();
        auto root = opened->read_entry(roots.front());
        if (!root) return fail(root.error());
        trusted_root = std::move(*root);
    }
    auto verified = verify_bundle(*opened, trusted_root, tuf::now());
    if (!verified) return fail(verified.error());
    if (!verified->boot_manager) {
        return fail(ErrorCode::not_found, "the bundle has no boot manager: it can update a disk, not install one");
    }
    for (const char* name : {"PK.auth", "KEK.auth", "db.auth", "db.crt"}) {
        if (!fs::is_regular_file(fs::path(request.keys) / name)) {
            return fail(ErrorCode::not_found, concat({request.keys, " has no ", name,
                                                      " (make the keys with bulkhead keys secureboot-init)"}));
        }
    }
    auto scratch = ScratchDir::make();
    if (!scratch) return fail(scratch.error());
    const std::string uki = scratch->file("bulkhead.efi");
    const std::string boot_manager = scratch->file("systemd-bootx64.efi");
    const std::string release_name = concat({"core release ", std::to_string(verified->release.release)});
    if (auto got = extract_part(*opened, verified->uki, uki, release_name + " uki"); !got) return fail(got.error());
    if (auto got = extract_part(*opened, *verified->boot_manager, boot_manager, release_name + " boot manager"); !got) {
        return fail(got.error());
    }
    const std::string db_certificate = (fs::path(request.keys) / "db.crt").string();
    if (auto checked = check_signed_by(uki, db_certificate, release_name + "'s kernel image"); !checked) {
        return fail(checked.error());
    }
    if (auto checked = check_signed_by(boot_manager, db_certificate, release_name + "'s boot manager"); !checked) {
        return fail(checked.error());
    }
    if (auto checked = check_kernel_is_release(uki, verified->release); !checked) return fail(checked.error());
    auto disk = open_disk(request.disk);
    if (!disk) return fail(disk.error());
    auto plan = plan_disk(disk->size, verified->root.entry.length, verified->verity.entry.length);
    if (!plan) return fail(plan.error());

    // 2. The EFI system partition, made in a scratch image: systemd-boot, its configuration, the
    //    owner's keys for enrolment in Setup Mode, and the release's entry. The first release is
    //    blessed at once (there is nothing to fall back to); the machine raises its floor when it
    //    first comes up.
    const std::string esp_image = scratch->file("esp.img");
    if (auto made = run_program_checked({"/usr/sbin/mkfs.vfat", "-F", "32", "-n", "BULKHEAD", "-C", esp_image,
                                         std::to_string(plan->esp_bytes / 1024)});
        !made) {
        return fail(made.error());
    }
    const boot::Esp esp(esp_image, 0);
    if (auto made = esp.make_dirs({"EFI", "EFI/BOOT", "EFI/Linux", "loader", "loader/keys", "loader/keys/auto"});
        !made) {
        return fail(made.error());
    }
    const std::string loader_conf = scratch->file("loader.conf");
    if (auto written = write_file_atomically(loader_conf, boot::loader_conf(), 0644, false); !written) {
        return fail(written.error());
    }
    const boot::BootEntry entry{.release = verified->release.release, .tries_left = std::nullopt, .tries_done = 0};
    for (const auto& [local, on_esp] : std::vector<std::pair<std::string, std::string>>{
             {boot_manager, "EFI/BOOT/BOOTX64.EFI"},
             {loader_conf, "loader/loader.conf"},
             {(fs::path(request.keys) / "PK.auth").string(), "loader/keys/auto/PK.auth"},
             {(fs::path(request.keys) / "KEK.auth").string(), "loader/keys/auto/KEK.auth"},
             {(fs::path(request.keys) / "db.auth").string(), "loader/keys/auto/db.auth"},
             {uki, concat({boot::kEntriesDir, "/", entry.file_name()})}}) {
        if (auto put = esp.put(local, on_esp); !put) return fail(put.error());
    }
    // The metadata this install trusted: the baseline the machine's first update is checked
    // against (update/trusted_state.hpp).
    if (auto kept = save_trusted_state(esp, verified->accepted); !kept) return fail(kept.error());

    // 3. Only now the disk: the partition table, the ESP, and slot a, which gets its UUIDs once
    //    its data is written and read back.
    gpt::DiskLayout layout;
    auto disk_guid = random_partition_uuid();
    if (!disk_guid) return fail(disk_guid.error());
    layout.disk_guid = *disk_guid;
    const auto type = [](std::string_view text) { return *gpt::parse_guid(text); };
    const std::vector<std::pair<std::string, std::pair<gpt::Guid, std::uint64_t>>> partitions = {
        {"esp", {type(gpt::kEspType), plan->esp_bytes}},
        {"root-a", {type(gpt::kRootType), plan->root_slot_bytes}},
        {"verity-a", {type(gpt::kRootVerityType), plan->verity_slot_bytes}},
        {"root-b", {type(gpt::kRootType), plan->root_slot_bytes}},
        {"verity-b", {type(gpt::kRootVerityType), plan->verity_slot_bytes}},
        {"state", {type(gpt::kLinuxDataType), plan->state_bytes}},
    };
    for (const auto& [name, spec] : partitions) {
        auto uuid = random_partition_uuid();
        if (!uuid) return fail(uuid.error());
        const bool read_only = name.starts_with("root-") || name.starts_with("verity-");
        layout.partitions.push_back(
            {name, spec.first, *uuid, spec.second, read_only ? gpt::kReadOnlyAttribute : std::uint64_t{0}});
    }
    auto placements = gpt::write_partition_table(disk->fd.get(), layout, disk->size);
    if (!placements) return fail(placements.error());
    if (auto copied = copy_extents(esp_image, disk->fd.get(), (*placements)[0].offset()); !copied) {
        return fail(copied.error());
    }
    if (::fsync(disk->fd.get()) != 0) return fail(Error::from_errno(errno, "syncing " + request.disk));
    if (auto written = install_into_slot(disk->fd.get(), disk->size, 'a', *opened, *verified, nullptr); !written) {
        return fail(written.error());
    }
    // A block device's partitions as the kernel sees them (best effort: a disk image has none).
    (void)::ioctl(disk->fd.get(), BLKRRPART);
    return Installed{verified->release, *plan};
}

}  // namespace bulkhead::update
