#include "update/slots.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "base/text.hpp"
#include "crypto/secret_box.hpp"
#include "initrd/partitions.hpp"
#include "tuf/trusted_set.hpp"
#include "verity/tree_root.hpp"

namespace bulkhead::update {

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;

Result<void> write_at(int fd, std::string_view bytes, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t put = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return fail(Error::from_errno(errno, "writing the slot"));
        done += static_cast<std::size_t>(put);
    }
    return {};
}

// Streams `entry` of the bundle to the disk at `offset`, checking it against the signed hashes
// on the way (the bundle file could have changed since it was verified).
Result<void> write_part(int disk_fd, std::uint64_t offset, const bundle::Bundle& bundle, const VerifiedPart& part,
                        const std::string& what) {
    auto check = tuf::LengthAndHashCheck::start(part.target.length, part.target.hashes, what);
    if (!check) return fail(check.error());
    std::uint64_t position = 0;
    auto copied = bundle.copy_entry(part.entry, -1, [&](std::string_view chunk) -> Result<void> {
        check->update(chunk);
        if (auto written = write_at(disk_fd, chunk, offset + position); !written) return written;
        position += chunk.size();
        return {};
    });
    if (!copied) return fail(copied.error());
    return check->finish();
}

// Reads back what write_part wrote, past the page cache where the kernel allows it.
Result<void> verify_part(int disk_fd, std::uint64_t offset, const VerifiedPart& part, const std::string& what) {
    (void)::posix_fadvise(disk_fd, static_cast<off_t>(offset), static_cast<off_t>(part.entry.length),
                          POSIX_FADV_DONTNEED);
    auto check = tuf::LengthAndHashCheck::start(part.target.length, part.target.hashes, what + " as written");
    if (!check) return fail(check.error());
    std::string buffer(kChunk, '\0');
    std::uint64_t done = 0;
    while (done < part.entry.length) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, part.entry.length - done));
        const ssize_t got = ::pread(disk_fd, buffer.data(), want, static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(Error::from_errno(errno, "reading back the slot"));
        if (got == 0) return fail(ErrorCode::io, "the disk ended while reading back the slot");
        check->update(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
        done += static_cast<std::uint64_t>(got);
    }
    return check->finish();
}

}  // namespace

Result<gpt::Guid> random_partition_uuid() {
    auto bytes = crypto::random_bytes(16);
    if (!bytes) return fail(bytes.error());
    return gpt::guid_from_bytes(*bytes);
}

bool Slot::holds(std::string_view root_hash) const {
    return root.uuid == initrd::root_partition_uuid(root_hash) &&
           verity.uuid == initrd::verity_partition_uuid(root_hash);
}

std::string_view install_step_name(InstallStep step) noexcept {
    switch (step) {
        case InstallStep::entries_removed: return "entries-removed";
        case InstallStep::entry_added: return "entry-added";
        case InstallStep::emptied: return "emptied";
        case InstallStep::written: return "written";
        case InstallStep::verified: return "verified";
        case InstallStep::switched: return "switched";
    }
    return "unknown";
}

Result<std::vector<Slot>> read_slots(int disk_fd, std::uint64_t disk_bytes) {
    auto entries = gpt::read_partition_table(disk_fd, disk_bytes);
    if (!entries) return fail(entries.error());
    auto root_type = gpt::parse_guid(gpt::kRootType);
    auto verity_type = gpt::parse_guid(gpt::kRootVerityType);
    std::vector<Slot> slots;
    for (const char name : {'a', 'b'}) {
        Slot slot{.name = name, .root = {}, .verity = {}};
        int found = 0;
        for (const gpt::Entry& entry : *entries) {
            if (entry.name == concat({"root-", std::string(1, name)})) {
                if (entry.type != *root_type)
                    return fail(ErrorCode::parse, concat({entry.name, " is not a root partition"}));
                slot.root = entry;
                ++found;
            } else if (entry.name == concat({"verity-", std::string(1, name)})) {
                if (entry.type != *verity_type) {
                    return fail(ErrorCode::parse, concat({entry.name, " is not a verity partition"}));
                }
                slot.verity = entry;
                ++found;
            }
        }
        if (found != 2) {
            return fail(ErrorCode::not_found, concat({"the disk has no single root-", std::string(1, name),
                                                      " and verity-", std::string(1, name), " pair"}));
        }
        slots.push_back(slot);
    }
    return slots;
}

Result<void> install_into_slot(int disk_fd, std::uint64_t disk_bytes, char slot, const bundle::Bundle& bundle,
                               const VerifiedBundle& verified,
                               const std::function<Result<void>(InstallStep)>& after_step) {
    auto slots = read_slots(disk_fd, disk_bytes);
    if (!slots) return fail(slots.error());
    auto root_hash = hex_decode(verified.release.root_hash);
    if (!root_hash) return fail(ErrorCode::parse, "the release's root hash is not hex");
    const Slot* target = nullptr;
    for (const Slot& candidate : *slots) {
        if (candidate.holds(*root_hash)) {
            return fail(ErrorCode::invalid_argument, concat({"core release ", std::to_string(verified.release.release),
                                                             " is already in slot ", std::string(1, candidate.name)}));
        }
        if (candidate.name == slot) target = &candidate;
    }
    if (target == nullptr) return fail(ErrorCode::invalid_argument, "the slot must be a or b");
    const std::uint64_t root_bytes = (target->root.last_lba - target->root.first_lba + 1) * gpt::kSectorBytes;
    const std::uint64_t verity_bytes = (target->verity.last_lba - target->verity.first_lba + 1) * gpt::kSectorBytes;
    if (verified.root.entry.length > root_bytes || verified.verity.entry.length > verity_bytes) {
        return fail(ErrorCode::too_large,
                    concat({"core release ", std::to_string(verified.release.release), " does not fit slot ",
                            std::string(1, slot), " (root ", std::to_string(verified.root.entry.length), " of ",
                            std::to_string(root_bytes), " bytes, verity ", std::to_string(verified.verity.entry.length),
                            " of ", std::to_string(verity_bytes), ")"}));
    }
    const std::uint64_t root_offset = target->root.first_lba * gpt::kSectorBytes;
    const std::uint64_t verity_offset = target->verity.first_lba * gpt::kSectorBytes;
    auto step = [&after_step](InstallStep done) -> Result<void> {
        return after_step ? after_step(done) : Result<void>{};
    };

    // 1. No image may find the slot while its contents change.
    auto empty_root = random_partition_uuid();
    auto empty_verity = random_partition_uuid();
    if (!empty_root || !empty_verity) return fail(ErrorCode::internal, "no random bytes for new partition UUIDs");
    if (auto emptied = gpt::set_partition_uuids(
            disk_fd, disk_bytes, {{target->root.number, *empty_root}, {target->verity.number, *empty_verity}});
        !emptied) {
        return fail(emptied.error());
    }
    if (auto told = step(InstallStep::emptied); !told) return told;

    // 2. The data, checked against the signed hashes as it goes.
    const std::string name = concat({"core release ", std::to_string(verified.release.release)});
    if (auto written = write_part(disk_fd, root_offset, bundle, verified.root, name + " root"); !written)
        return written;
    if (auto written = write_part(disk_fd, verity_offset, bundle, verified.verity, name + " verity"); !written) {
        return written;
    }
    if (::fsync(disk_fd) != 0) return fail(Error::from_errno(errno, "syncing the slot"));
    if (auto told = step(InstallStep::written); !told) return told;

    // 3. What the disk now holds, read back.
    if (auto checked = verify_part(disk_fd, root_offset, verified.root, name + " root"); !checked) return checked;
    if (auto checked = verify_part(disk_fd, verity_offset, verified.verity, name + " verity"); !checked) return checked;
    // The tree on the disk must commit to the root hash the signed kernel image will ask for.
    auto tree_root = verity::root_hash_of_tree(disk_fd, verity_offset);
    if (!tree_root) return fail(ErrorCode::integrity, concat({name, " verity: ", tree_root.error().message}));
    if (*tree_root != *root_hash) {
        return fail(ErrorCode::integrity, concat({name, "'s verity tree has the root hash ", hex_encode(*tree_root),
                                                  ", not the release's ", verified.release.root_hash}));
    }
    if (auto told = step(InstallStep::verified); !told) return told;

    // 4. The UUIDs the new image's initrd looks for.
    if (auto switched = gpt::set_partition_uuids(disk_fd, disk_bytes,
                                                 {{target->root.number, initrd::root_partition_uuid(*root_hash)},
                                                  {target->verity.number, initrd::verity_partition_uuid(*root_hash)}});
        !switched) {
        return fail(switched.error());
    }
    return step(InstallStep::switched);
}

}  // namespace bulkhead::update
