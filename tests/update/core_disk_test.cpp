// A whole update on a disk image with the real layout: a FAT EFI system partition changed through
// mtools, real unified kernel images (systemd's stub with our command line), the slots. After a
// stop at any step, the entry systemd-boot would start still boots a complete image.
#include "update/core_disk.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "image/uki.hpp"
#include "initrd/partitions.hpp"
#include "release_fixture.hpp"

namespace bulkhead::update {
namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

class CoreDiskTest : public testing::ReleaseFixture {
protected:
    void SetUp() override {
        ReleaseFixture::SetUp();
        dir.write("kernel", "not really a kernel");
        dir.write("initrd", "not really an initrd");
        add_release(second, "two", std::nullopt, uki_for(second, "uki-2"));
        publish({&root_key, &targets_key});
        ASSERT_TRUE(bundle_from_published(published(), 0, (dir.path() / "update.bundle").string()));
        auto opened = bundle::Bundle::open((dir.path() / "update.bundle").string());
        ASSERT_TRUE(opened) << opened.error().message;
        auto verified_now = verify_bundle(*opened, trusted_root(), now);
        ASSERT_TRUE(verified_now) << verified_now.error().message;
        verified = std::make_unique<VerifiedBundle>(std::move(*verified_now));
        bundle = std::make_unique<bundle::Bundle>(std::move(*opened));
    }

    // A real UKI (systemd's stub) whose signed-to-be command line names `release`'s image.
    std::string uki_for(const CoreRelease& release, const std::string& name) {
        const std::string command_line =
            concat({"console=ttyS0 bulkhead.verity=", release.root_hash, " bulkhead.version=", release.version,
                    " bulkhead.security=", std::to_string(release.security_version)});
        const std::string out = (dir.path() / (name + ".efi")).string();
        auto made =
            image::assemble_uki({"/usr/lib/systemd/boot/efi/linuxx64.efi.stub", (dir.path() / "kernel").string(),
                                 (dir.path() / "initrd").string(), command_line, "ID=bulkhead\n"},
                                out, "/usr/bin/objcopy", dir.mkdir(name + "-work").string());
        EXPECT_TRUE(made) << made.error().message;
        return bulkhead::testing::read_whole_file(out);
    }

    // Release 1 installed in slot a with its blessed entry; slot b never used.
    std::string make_disk(const std::string& name) {
        gpt::DiskLayout layout;
        layout.disk_guid = gpt::guid_from_bytes(std::string(16, 'd'));
        const std::string hash = *hex_decode(first.root_hash);
        const auto type = [](std::string_view text) { return *gpt::parse_guid(text); };
        layout.partitions = {
            {"esp", type(gpt::kEspType), gpt::guid_from_bytes(std::string(16, 'e')), 34 * kMiB, 0},
            {"root-a", type(gpt::kRootType), initrd::root_partition_uuid(hash), kMiB, 0},
            {"verity-a", type(gpt::kRootVerityType), initrd::verity_partition_uuid(hash), kMiB, 0},
            {"root-b", type(gpt::kRootType), gpt::guid_from_bytes(std::string(16, 'b')), kMiB, 0},
            {"verity-b", type(gpt::kRootVerityType), gpt::guid_from_bytes(std::string(16, 'c')), kMiB, 0},
            {"state", type(gpt::kLinuxDataType), gpt::guid_from_bytes(std::string(16, 's')), kMiB, 0},
        };
        const std::string path = (dir.path() / name).string();
        {
            const UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(gpt::disk_bytes(layout))), 0);
            EXPECT_TRUE(gpt::write_partition_table(fd.get(), layout));
        }
        EXPECT_TRUE(run_program_checked(
            {"/usr/sbin/mkfs.vfat", "-F", "32", "--offset", "2048", path, std::to_string(34 * 1024)}));
        const boot::Esp esp(path, kMiB);
        EXPECT_TRUE(esp.make_dirs({"EFI", "EFI/Linux"}));
        if (!std::filesystem::exists(dir.path() / "uki-1.efi")) uki_for(first, "uki-1");
        EXPECT_TRUE(esp.put((dir.path() / "uki-1.efi").string(), "EFI/Linux/bulkhead-1.efi"));
        return path;
    }

    static std::vector<std::string> entry_names(const DiskStatus& status) {
        std::vector<std::string> names;
        for (const InstalledEntry& installed : status.entries) {
            names.push_back(installed.entry.file_name() + "@" +
                            (installed.slot ? std::string(1, *installed.slot) : std::string("none")));
        }
        return names;
    }

    std::unique_ptr<VerifiedBundle> verified;
    std::unique_ptr<bundle::Bundle> bundle;
};

TEST_F(CoreDiskTest, InstallBlessAndRetire) {
    auto disk = CoreDisk::open(make_disk("disk.img"));
    ASSERT_TRUE(disk) << disk.error().message;
    auto before = disk->status();
    ASSERT_TRUE(before) << before.error().message;
    EXPECT_EQ(entry_names(*before), std::vector<std::string>{"bulkhead-1.efi@a"});
    EXPECT_EQ(before->entries[0].image.version, "1.0");

    auto installed = disk->install(*bundle, *verified, 'b', nullptr);
    ASSERT_TRUE(installed) << installed.error().message;
    auto after = disk->status();
    ASSERT_TRUE(after) << after.error().message;
    EXPECT_EQ(entry_names(*after), (std::vector<std::string>{"bulkhead-2+3.efi@b", "bulkhead-1.efi@a"}));
    EXPECT_EQ(after->entries[0].image.security_version, 2U);
    EXPECT_TRUE(after->unreadable.empty());

    auto again = disk->install(*bundle, *verified, 'a', nullptr);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("already in slot b"), std::string::npos) << again.error().message;

    ASSERT_TRUE(disk->bless(2));
    auto blessed = disk->status();
    ASSERT_TRUE(blessed);
    EXPECT_EQ(entry_names(*blessed), (std::vector<std::string>{"bulkhead-2.efi@b", "bulkhead-1.efi@a"}));
    ASSERT_TRUE(disk->retire(2));
    auto retired = disk->status();
    ASSERT_TRUE(retired);
    EXPECT_EQ(entry_names(*retired), (std::vector<std::string>{"bulkhead-1.efi@a", "bulkhead-2+0.efi@b"}));
    EXPECT_FALSE(disk->bless(7));
}

TEST_F(CoreDiskTest, AfterAStopAtAnyStepTheDefaultEntryBootsACompleteImage) {
    for (const InstallStep stop_at : {InstallStep::entries_removed, InstallStep::emptied, InstallStep::written,
                                      InstallStep::verified, InstallStep::switched, InstallStep::entry_added}) {
        const std::string name = concat({"stop-", std::string(install_step_name(stop_at)), ".img"});
        auto disk = CoreDisk::open(make_disk(name));
        ASSERT_TRUE(disk) << disk.error().message;
        auto stopped = disk->install(*bundle, *verified, 'b', [&](InstallStep step) {
            return step == stop_at ? Result<void>(fail(ErrorCode::io, "power lost")) : Result<void>{};
        });
        ASSERT_FALSE(stopped) << name;
        auto status = disk->status();
        ASSERT_TRUE(status) << name << ": " << status.error().message;
        ASSERT_FALSE(status->entries.empty()) << name;
        EXPECT_TRUE(status->unreadable.empty()) << name << ": " << status->unreadable.front();
        // Every entry's image is complete in a slot; the first is the one started.
        for (const InstalledEntry& installed : status->entries) {
            EXPECT_TRUE(installed.slot.has_value()) << name << ": " << installed.entry.file_name();
        }
        EXPECT_EQ(status->entries.back().entry.file_name(), "bulkhead-1.efi") << name;
        EXPECT_EQ(status->entries.size(), stop_at == InstallStep::entry_added ? 2U : 1U) << name;
        // Installing again finishes the job (unless it was complete).
        if (stop_at != InstallStep::entry_added) {
            auto retried = disk->install(*bundle, *verified, 'b', nullptr);
            EXPECT_TRUE(retried) << name << ": " << retried.error().message;
        }
    }
}

TEST_F(CoreDiskTest, AKernelImageForAnotherImageIsRefusedBeforeTheSlotIsTouched) {
    // Release 3's metadata describes one root hash, its UKI boots another.
    CoreRelease third{3, "1.2", 3, std::string(64, '3')};
    CoreRelease elsewhere = third;
    elsewhere.root_hash = std::string(64, '4');
    add_release(third, "three", std::nullopt, uki_for(elsewhere, "uki-3"));
    publish({&targets_key});
    const std::string out = (dir.path() / "mismatch.bundle").string();
    ASSERT_TRUE(bundle_from_published(published(), 0, out));
    auto opened = bundle::Bundle::open(out);
    ASSERT_TRUE(opened);
    auto mismatch = verify_bundle(*opened, trusted_root(), now);
    ASSERT_TRUE(mismatch) << mismatch.error().message;
    const std::string path = make_disk("mismatch.img");
    const std::string before = bulkhead::testing::read_whole_file(path);
    auto disk = CoreDisk::open(path);
    ASSERT_TRUE(disk);
    auto refused = disk->install(*opened, *mismatch, 'b', nullptr);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::integrity) << refused.error().message;
    EXPECT_TRUE(bulkhead::testing::read_whole_file(path) == before) << "the disk changed";
}

}  // namespace
}  // namespace bulkhead::update
