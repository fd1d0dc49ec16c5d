// Installing a verified release into a slot of a disk image with the real partition layout:
// the data lands in the slot's partitions, the UUIDs switch last, the other slot is never
// touched, and stopping after any step (as a crash would) leaves the disk with the other slot
// intact and this one either unknown to every image or complete.
#include "update/slots.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "initrd/partitions.hpp"
#include "release_fixture.hpp"

namespace bulkhead::update {
namespace {

class Slots : public testing::ReleaseFixture {
protected:
    void SetUp() override {
        ReleaseFixture::SetUp();
        add_release(second, "two");
        publish({&root_key, &targets_key});
        ASSERT_TRUE(bundle_from_published(published(), 0, bundle_path()));
        auto opened = bundle::Bundle::open(bundle_path());
        ASSERT_TRUE(opened) << opened.error().message;
        auto verified_now = verify_bundle(*opened, trusted_root(), now);
        ASSERT_TRUE(verified_now) << verified_now.error().message;
        verified = std::make_unique<VerifiedBundle>(std::move(*verified_now));
        bundle = std::make_unique<bundle::Bundle>(std::move(*opened));
    }

    [[nodiscard]] std::string bundle_path() const { return (dir.path() / "update.bundle").string(); }

    // A disk like `bulkhead image build` makes, with release 1 in slot a and slot b never used.
    std::string make_disk(const std::string& name, std::uint64_t slot_bytes = 1 << 20) {
        gpt::DiskLayout layout;
        layout.disk_guid = gpt::guid_from_bytes(std::string(16, 'd'));
        const std::string hash = *hex_decode(first.root_hash);
        const auto type = [](std::string_view text) { return *gpt::parse_guid(text); };
        layout.partitions = {
            {"esp", type(gpt::kEspType), gpt::guid_from_bytes(std::string(16, 'e')), 1 << 20, 0},
            {"root-a", type(gpt::kRootType), initrd::root_partition_uuid(hash), slot_bytes, 0},
            {"verity-a", type(gpt::kRootVerityType), initrd::verity_partition_uuid(hash), 1 << 20, 0},
            {"root-b", type(gpt::kRootType), gpt::guid_from_bytes(std::string(16, 'b')), slot_bytes, 0},
            {"verity-b", type(gpt::kRootVerityType), gpt::guid_from_bytes(std::string(16, 'c')), 1 << 20, 0},
            {"state", type(gpt::kLinuxDataType), gpt::guid_from_bytes(std::string(16, 's')), 1 << 20, 0},
        };
        disk_size = gpt::disk_bytes(layout);
        const std::string path = (dir.path() / name).string();
        const UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(disk_size)), 0);
        auto placed = gpt::write_partition_table(fd.get(), layout);
        EXPECT_TRUE(placed);
        // Slot a's contents, which no install into b may change.
        const std::string slot_a(4096, 'A');
        EXPECT_EQ(::pwrite(fd.get(), slot_a.data(), slot_a.size(), static_cast<off_t>((*placed)[1].offset())), 4096);
        return path;
    }

    static std::string read_at(const std::string& path, std::uint64_t offset, std::size_t size) {
        return bulkhead::testing::read_whole_file(path).substr(offset, size);
    }

    std::unique_ptr<VerifiedBundle> verified;
    std::unique_ptr<bundle::Bundle> bundle;
    std::uint64_t disk_size = 0;
};

TEST_F(Slots, AReleaseIsInstalledIntoTheOtherSlot) {
    const std::string disk = make_disk("disk.img");
    const std::string before = bulkhead::testing::read_whole_file(disk);
    const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CLOEXEC));
    std::vector<InstallStep> steps;
    auto installed = install_into_slot(fd.get(), disk_size, 'b', *bundle, *verified, [&](InstallStep step) {
        steps.push_back(step);
        return Result<void>{};
    });
    ASSERT_TRUE(installed) << installed.error().message;
    EXPECT_EQ(steps, (std::vector<InstallStep>{InstallStep::emptied, InstallStep::written, InstallStep::verified,
                                               InstallStep::switched}));
    auto slots = read_slots(fd.get(), disk_size);
    ASSERT_TRUE(slots) << slots.error().message;
    EXPECT_TRUE((*slots)[0].holds(*hex_decode(first.root_hash)));
    EXPECT_TRUE((*slots)[1].holds(*hex_decode(second.root_hash)));
    // The payloads are in slot b's partitions; slot a is byte for byte what it was.
    const Slot& b = (*slots)[1];
    const Slot& a = (*slots)[0];
    const RootImage image = image_for("two");
    EXPECT_EQ(read_at(disk, b.root.first_lba * 512, image.root.size()), image.root);
    EXPECT_EQ(read_at(disk, b.verity.first_lba * 512, image.verity.size()), image.verity);
    const std::uint64_t a_start = a.root.first_lba * 512;
    const std::uint64_t a_end = (a.verity.last_lba + 1) * 512;
    EXPECT_TRUE(bulkhead::testing::read_whole_file(disk).substr(a_start, a_end - a_start) ==
                before.substr(a_start, a_end - a_start));
    auto checked = run_program({"/usr/sbin/sgdisk", "--verify", disk});
    ASSERT_TRUE(checked);
    EXPECT_NE(checked->out.find("No problems found"), std::string::npos) << checked->out;

    // The same release again: refused, nothing changes.
    const std::string after = bulkhead::testing::read_whole_file(disk);
    auto again = install_into_slot(fd.get(), disk_size, 'a', *bundle, *verified, nullptr);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("already in slot b"), std::string::npos) << again.error().message;
    EXPECT_TRUE(bulkhead::testing::read_whole_file(disk) == after);
}

TEST_F(Slots, StoppingAfterAnyStepLeavesTheOtherSlotAndNoHalfImage) {
    for (const InstallStep stop_at :
         {InstallStep::emptied, InstallStep::written, InstallStep::verified, InstallStep::switched}) {
        const std::string name = concat({"crash-", std::string(install_step_name(stop_at)), ".img"});
        const std::string disk = make_disk(name);
        const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CLOEXEC));
        auto installed = install_into_slot(fd.get(), disk_size, 'b', *bundle, *verified, [&](InstallStep step) {
            if (step == stop_at) return Result<void>(fail(ErrorCode::io, "power lost"));
            return Result<void>{};
        });
        ASSERT_FALSE(installed) << name;
        auto slots = read_slots(fd.get(), disk_size);
        ASSERT_TRUE(slots) << name << ": " << slots.error().message;
        EXPECT_TRUE((*slots)[0].holds(*hex_decode(first.root_hash))) << name;
        // Slot b names the new image only once it is complete and read back.
        EXPECT_EQ((*slots)[1].holds(*hex_decode(second.root_hash)), stop_at == InstallStep::switched) << name;
        EXPECT_NE((*slots)[1].root.uuid, gpt::guid_from_bytes(std::string(16, 'b'))) << name;
        // An install after the crash completes.
        auto retried = install_into_slot(fd.get(), disk_size, 'b', *bundle, *verified, nullptr);
        if (stop_at == InstallStep::switched) {
            EXPECT_FALSE(retried) << name;  // already there
        } else {
            EXPECT_TRUE(retried) << name << ": " << retried.error().message;
        }
    }
}

TEST_F(Slots, ABundleChangedAfterVerificationOrASmallSlotIsRefused) {
    {
        const std::string disk = make_disk("small.img", 1 << 20);
        // A release larger than the slot: the verified sizes are what count.
        VerifiedBundle larger = *verified;
        larger.root.entry.length = (2 << 20);
        const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CLOEXEC));
        auto refused = install_into_slot(fd.get(), disk_size, 'b', *bundle, larger, nullptr);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, ErrorCode::too_large);
        auto wrong_slot = install_into_slot(fd.get(), disk_size, 'c', *bundle, *verified, nullptr);
        EXPECT_FALSE(wrong_slot);
    }
    {
        // Metadata whose root hash is not the one the verity tree commits to: the slot is written
        // and read back, but never switched to a hash its tree does not have.
        const std::string disk = make_disk("other-hash.img");
        VerifiedBundle other_hash = *verified;
        other_hash.release.root_hash = std::string(64, 'e');
        const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CLOEXEC));
        auto refused = install_into_slot(fd.get(), disk_size, 'b', *bundle, other_hash, nullptr);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, ErrorCode::integrity);
        EXPECT_NE(refused.error().message.find("verity tree has the root hash"), std::string::npos)
            << refused.error().message;
        auto slots = read_slots(fd.get(), disk_size);
        ASSERT_TRUE(slots);
        EXPECT_FALSE((*slots)[1].holds(*hex_decode(other_hash.release.root_hash)));
        EXPECT_FALSE((*slots)[1].holds(*hex_decode(second.root_hash)));
    }
    // The bundle file changes between verification and install.
    auto opened = bundle::Bundle::open(bundle_path());
    ASSERT_TRUE(opened);
    auto root = opened->layout().find(bundle::EntryType::root_image);
    ASSERT_TRUE(root);
    {
        const UniqueFd bundle_fd(::open(bundle_path().c_str(), O_RDWR | O_CLOEXEC));
        const char byte = 'Z';
        ASSERT_EQ(::pwrite(bundle_fd.get(), &byte, 1, static_cast<off_t>(root->offset + 7)), 1);
    }
    const std::string disk = make_disk("changed.img");
    const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CLOEXEC));
    auto refused = install_into_slot(fd.get(), disk_size, 'b', *bundle, *verified, nullptr);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::integrity);
    auto slots = read_slots(fd.get(), disk_size);
    ASSERT_TRUE(slots);
    EXPECT_TRUE((*slots)[0].holds(*hex_decode(first.root_hash)));
    EXPECT_FALSE((*slots)[1].holds(*hex_decode(second.root_hash)));
}

}  // namespace
}  // namespace bulkhead::update
