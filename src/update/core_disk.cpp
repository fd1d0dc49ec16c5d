#include "update/core_disk.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "base/text.hpp"
#include "image/uki.hpp"
#include "update/release_files.hpp"

namespace bulkhead::update {

namespace {

constexpr const char* kTempPrefix = ".bulkhead-";

std::string entry_path(const std::string& name) { return concat({boot::kEntriesDir, "/", name}); }

// ".bulkhead-RELEASE.tmp", exactly: names off the ESP reach mtools, which expands wildcards.
bool is_temporary_entry(std::string_view name) {
    if (!name.starts_with(kTempPrefix) || !name.ends_with(".tmp")) return false;
    const std::string_view digits =
        name.substr(std::string_view(kTempPrefix).size(), name.size() - std::string_view(kTempPrefix).size() - 4);
    return !digits.empty() && digits.size() <= 13 &&
           std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<CoreDisk> CoreDisk::open(const std::string& path) {
    // mtools takes "FILE@@OFFSET": a path holding "@@" would name another file to it.
    if (path.find("@@") != std::string::npos) return fail(ErrorCode::invalid_argument, path + " holds \"@@\"");
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening " + path));
    // One change at a time (bless at boot, an update, a rollback), and none while a VMM runs the
    // disk (QEMU locks its images the same way). Held as long as this CoreDisk lives.
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
        if (errno == EAGAIN || errno == EACCES) {
            return fail(ErrorCode::invalid_argument, path + " is in use (another update, or a running VM)");
        }
        return fail(Error::from_errno(errno, "locking " + path));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return fail(Error::from_errno(errno, "reading " + path));
    std::uint64_t size = 0;
    if (S_ISREG(info.st_mode)) {
        size = static_cast<std::uint64_t>(info.st_size);
    } else if (S_ISBLK(info.st_mode)) {
        if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0) return fail(Error::from_errno(errno, "sizing " + path));
    } else {
        return fail(ErrorCode::invalid_argument, path + " is neither a disk image file nor a block device");
    }
    auto entries = gpt::read_partition_table(fd.get(), size);
    if (!entries) return fail(ErrorCode::parse, concat({path, ": ", entries.error().message}));
    auto esp_type = gpt::parse_guid(gpt::kEspType);
    const gpt::Entry* esp = nullptr;
    for (const gpt::Entry& entry : *entries) {
        if (entry.type == *esp_type) {
            if (esp != nullptr) return fail(ErrorCode::parse, path + " has two EFI system partitions");
            esp = &entry;
        }
    }
    if (esp == nullptr) return fail(ErrorCode::not_found, path + " has no EFI system partition");
    const std::uint64_t esp_offset = esp->first_lba * gpt::kSectorBytes;
    return CoreDisk(std::move(fd), path, size, esp_offset);
}

Result<initrd::BootArgs> CoreDisk::entry_image(const std::string& file_name) const {
    auto scratch = ScratchDir::make();
    if (!scratch) return fail(scratch.error());
    const std::string local = scratch->file("entry.efi");
    if (auto copied = esp_.get(entry_path(file_name), local); !copied) return fail(copied.error());
    auto command_line = image::read_uki_command_line(local);
    if (!command_line) return fail(command_line.error());
    return initrd::parse_boot_args(*command_line);
}

Result<DiskStatus> CoreDisk::status() const {
    DiskStatus status;
    auto slots = read_slots(fd_.get(), size_);
    if (!slots) return fail(slots.error());
    status.slots = std::move(*slots);
    auto names = esp_.list(boot::kEntriesDir);
    if (!names) {
        if (names.error().code == ErrorCode::not_found) return status;
        return fail(names.error());
    }
    std::vector<boot::BootEntry> entries;
    for (const std::string& name : *names) {
        auto entry = boot::parse_entry_name(name);
        if (!entry) {
            if (entry.error().code != ErrorCode::not_found) status.unreadable.push_back(entry.error().message);
            continue;
        }
        entries.push_back(*entry);
    }
    for (const boot::BootEntry& entry : boot::boot_order(std::move(entries))) {
        auto image = entry_image(entry.file_name());
        if (!image) {
            status.unreadable.push_back(concat({entry.file_name(), ": ", image.error().message}));
            continue;
        }
        InstalledEntry installed{.entry = entry, .image = std::move(*image), .slot = std::nullopt};
        for (const Slot& slot : status.slots) {
            if (slot.holds(installed.image.root_hash)) installed.slot = slot.name;
        }
        status.entries.push_back(std::move(installed));
    }
    return status;
}

Result<void> CoreDisk::install(const bundle::Bundle& bundle, const VerifiedBundle& verified, char slot,
                               const std::function<Result<void>(InstallStep)>& after_step,
                               const std::string& db_certificate, const std::function<void()>& before_changes) const {
    auto step = [&after_step](InstallStep done) -> Result<void> {
        return after_step ? after_step(done) : Result<void>{};
    };
    auto status = this->status();
    if (!status) return fail(status.error());
    const Slot* target = nullptr;
    for (const Slot& candidate : status->slots) {
        if (candidate.name == slot) target = &candidate;
    }
    if (target == nullptr) return fail(ErrorCode::invalid_argument, "the slot must be a or b");
    // An entry that cannot be read might start the slot about to be overwritten.
    if (!status->unreadable.empty()) {
        return fail(ErrorCode::parse, concat({"a boot entry cannot be read (", status->unreadable.front(),
                                              "): repair or remove it before updating"}));
    }
    auto new_root_hash = hex_decode(verified.release.root_hash);
    if (!new_root_hash) return fail(ErrorCode::parse, "the release's root hash is not hex");
    for (const Slot& candidate : status->slots) {
        if (candidate.name != slot && candidate.holds(*new_root_hash)) {
            return fail(ErrorCode::invalid_argument, concat({"core release ", std::to_string(verified.release.release),
                                                             " is already in slot ", std::string(1, candidate.name)}));
        }
    }
    // The slot may already hold the image from an install stopped before its entry was added:
    // then only the entry is missing.
    const bool resume = target->holds(*new_root_hash);
    for (const InstalledEntry& installed : status->entries) {
        if (installed.entry.release == verified.release.release) {
            return fail(ErrorCode::invalid_argument,
                        concat({"core release ", std::to_string(verified.release.release),
                                " already has the boot entry ", installed.entry.file_name()}));
        }
    }

    // The UKI first, checked against the signed metadata as it is copied out, so that a bad
    // bundle is refused before the slot is touched.
    auto scratch = ScratchDir::make();
    if (!scratch) return fail(scratch.error());
    const std::string uki = scratch->file("bulkhead.efi");
    const std::string release_name = concat({"core release ", std::to_string(verified.release.release)});
    if (auto got = extract_part(bundle, verified.uki, uki, release_name + " uki"); !got) return got;
    if (!db_certificate.empty()) {
        // The firmware would refuse it at boot; refusing it here keeps the slot and its entry.
        if (auto checked = check_signed_by(uki, db_certificate, "the kernel image of " + release_name); !checked) {
            return checked;
        }
    }
    if (auto checked = check_kernel_is_release(uki, verified.release); !checked) return checked;
    // Every check has passed; nothing has changed yet (a refused update changes nothing).
    if (before_changes) before_changes();

    // 1. Nothing may start the slot's old image once its data starts to change; leftovers of an
    //    earlier, interrupted install go too. (When resuming, the slot's image is the new one.)
    auto names = esp_.list(boot::kEntriesDir);
    if (!names && names.error().code == ErrorCode::not_found) {
        if (auto made = esp_.make_dirs({"EFI", boot::kEntriesDir}); !made) return made;
        names = std::vector<std::string>{};
    }
    if (!names) return fail(names.error());
    for (const std::string& name : *names) {
        if (is_temporary_entry(name)) {
            if (auto removed = esp_.remove(entry_path(name)); !removed) return removed;
        }
    }
    for (const InstalledEntry& installed : status->entries) {
        if (installed.slot == slot && !resume) {
            if (auto removed = esp_.remove(entry_path(installed.entry.file_name())); !removed) return removed;
        }
    }
    if (auto told = step(InstallStep::entries_removed); !told) return told;

    // 2. The slot.
    if (!resume) {
        if (auto written = install_into_slot(fd_.get(), size_, slot, bundle, verified, after_step); !written) {
            return written;
        }
    }

    // 3. The entry: written under a name systemd-boot ignores, then renamed into place.
    const boot::BootEntry entry{
        .release = verified.release.release, .tries_left = boot::kDefaultTries, .tries_done = 0};
    const std::string temporary = concat({kTempPrefix, std::to_string(entry.release), ".tmp"});
    if (auto put = esp_.put(uki, entry_path(temporary)); !put) return put;
    if (auto renamed = esp_.rename(entry_path(temporary), entry.file_name()); !renamed) return renamed;
    return step(InstallStep::entry_added);
}

Result<boot::BootEntry> CoreDisk::rename_entry(std::int64_t release, const boot::BootEntry& to) const {
    auto names = esp_.list(boot::kEntriesDir);
    if (!names) return fail(names.error());
    for (const std::string& name : *names) {
        auto entry = boot::parse_entry_name(name);
        if (!entry || entry->release != release) continue;
        if (*entry == to) return to;
        if (auto renamed = esp_.rename(entry_path(name), to.file_name()); !renamed) return fail(renamed.error());
        return to;
    }
    return fail(ErrorCode::not_found, concat({"core release ", std::to_string(release), " has no boot entry"}));
}

Result<boot::BootEntry> CoreDisk::bless(std::int64_t release) const {
    return rename_entry(release, boot::BootEntry{.release = release, .tries_left = std::nullopt, .tries_done = 0});
}

Result<boot::BootEntry> CoreDisk::retire(std::int64_t release) const {
    return rename_entry(release, boot::BootEntry{.release = release, .tries_left = 0, .tries_done = 0});
}

}  // namespace bulkhead::update

namespace bulkhead::update {

const InstalledEntry* booted_entry(const DiskStatus& status, const std::optional<std::string>& booted_root_hash) {
    for (const InstalledEntry& installed : status.entries) {
        if (!installed.slot) continue;
        if (booted_root_hash ? installed.image.root_hash == *booted_root_hash
                             : installed.entry.tries_left.value_or(1) > 0) {
            return &installed;
        }
    }
    return nullptr;
}

Result<char> update_slot(const DiskStatus& status, const std::optional<std::string>& booted_root_hash) {
    if (booted_root_hash) {
        for (const Slot& slot : status.slots) {
            if (slot.holds(*booted_root_hash)) return slot.name == 'a' ? 'b' : 'a';
        }
        return fail(ErrorCode::not_found, "the running image is in neither slot of this disk");
    }
    const InstalledEntry* current = booted_entry(status, std::nullopt);
    if (current == nullptr) return fail(ErrorCode::not_found, "no boot entry starts an image of this disk");
    return *current->slot == 'a' ? 'b' : 'a';
}

Result<const InstalledEntry*> rollback_entry(const DiskStatus& status,
                                             const std::optional<std::string>& booted_root_hash) {
    const InstalledEntry* current = booted_entry(status, booted_root_hash);
    if (current == nullptr) return fail(ErrorCode::not_found, "the running image has no boot entry on this disk");
    for (const InstalledEntry& installed : status.entries) {
        if (installed.slot && installed.slot != current->slot && installed.entry.tries_left.value_or(1) > 0) {
            return &installed;
        }
    }
    return fail(ErrorCode::not_found, concat({"slot ", std::string(1, *current->slot == 'a' ? 'b' : 'a'),
                                              " holds no image with a boot entry to go back to"}));
}

}  // namespace bulkhead::update
