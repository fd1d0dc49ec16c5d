// The system core image booted as firmware boots it: QEMU (TCG) with OVMF's Secure Boot
// firmware enforcing, the owner's keys enrolled offline into a copy of its variable store, and
// swtpm as the TPM. The signed image reaches bulkhead-init on the verified read-only root and
// starts bulkheadd; Ctrl-Alt-Del shuts it down cleanly; unsigned, foreign-signed and modified
// UKIs are refused by the firmware; a root with one flipped byte stops with a verity error and
// restarts, no shell; an image below the TPM's anti-rollback floor is refused by the initrd
// before its root is mounted. One key set and one image serve every test.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/process.hpp"
#include "base/unique_fd.hpp"
#include "floor/tpm_floor.hpp"
#include "json/value.hpp"
#include "support/spawn.hpp"
#include "support/swtpm.hpp"
#include "support/temp_dir.hpp"
#include "vmm/qmp.hpp"

namespace bulkhead {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kBin = BULKHEAD_BIN_DIR;
const fs::path kSource = fs::path(BULKHEAD_FIXTURES_DIR).parent_path().parent_path();

using testing::kOvmfCode;
using testing::kOvmfVarsTemplate;
using testing::read_file;
using testing::spawn;

class CoreImage : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir = new testing::TempDir();
        const fs::path pass = dir->write("pass", "core image test passphrase\n");
        for (const char* keys : {"keys", "foreign-keys"}) {
            auto made = run_program_checked({kBin + "/bulkhead", "keys", "secureboot-init",
                                             (dir->path() / keys).string(), "--passphrase-file", pass.string()});
            ASSERT_TRUE(made) << made.error().message;
        }
        const std::string spec =
            "version = \"0.1.0-boot-test\"\nsecurity_version = 1\n[kernel]\nimage = \"" +
            (kSource / "build-guest/kernel/current/vmlinuz").string() + "\"\nmodules_dir = \"" +
            (kSource / "build-guest/kernel/current/modules").string() + "\"\ninitrd_modules = \"" +
            (kSource / "deps/core-initrd-modules.txt").string() +
            "\"\nefi_stub = \"/usr/lib/systemd/boot/efi/linuxx64.efi.stub\"\nargs = [\"console=ttyS0\", \"panic=-1\"]\n"
            "[initrd]\ninit = \"" +
            kBin + "/bulkhead-initrd\"\nfiles = [\n  { source = \"" + kBin +
            "/bulkhead-tpm-floor\", target = \"/bin/bulkhead-tpm-floor\", mode = \"0755\", libraries = true },\n"
            "  { source = \"/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0\", target = "
            "\"/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0\", mode = \"0644\", libraries = true },\n]\n"
            "[root]\n"
            "directories = [\"/dev\", \"/proc\", \"/sys\", \"/run\", \"/tmp\"]\nfiles = [\n"
            "  { source = \"" +
            kBin +
            "/bulkhead-init\", target = \"/sbin/bulkhead-init\", mode = \"0755\" },\n"
            "  { source = \"" +
            kBin +
            "/bulkheadd\", target = \"/usr/sbin/bulkheadd\", mode = \"0755\", "
            "libraries = true, strip = true },\n]\n[disk]\nroot_slot_mib = 64\nverity_slot_mib = 4\n";
        const fs::path spec_file = dir->write("spec.toml", spec);
        auto built = run_program_checked({kBin + "/bulkhead", "image", "build", "--spec", spec_file.string(), "--out",
                                          (dir->path() / "image").string(), "--keys", (dir->path() / "keys").string(),
                                          "--passphrase-file", pass.string(), "--json"});
        ASSERT_TRUE(built) << built.error().message;
        root_hash = new std::string(nlohmann::json::parse(built->out).at("root_hash").get<std::string>());
        // The owner's keys, enrolled offline into a copy of OVMF's empty variable store.
        fs::copy_file(kOvmfVarsTemplate, dir->path() / "vars-template.fd");
        for (const char* variable : {"db", "KEK", "PK"}) {
            auto enrolled =
                run_program_checked({"/usr/bin/flash-var", (dir->path() / "vars-template.fd").string(), variable,
                                     (dir->path() / "keys" / (std::string(variable) + ".esl")).string()});
            ASSERT_TRUE(enrolled) << enrolled.error().message;
        }
    }
    static void TearDownTestSuite() {
        delete dir;
        delete root_hash;
        dir = nullptr;
        root_hash = nullptr;
    }

    struct Boot {
        pid_t qemu = -1;
        pid_t tpm = -1;
        fs::path console;
        fs::path qmp;
    };

    // Starts swtpm and QEMU on `disk` with a fresh copy of the enrolled variable store. A
    // `floor` above 0 is first provisioned into the TPM through ESAPI, as bless would.
    Boot boot(const std::string& name, const fs::path& disk, std::uint64_t floor = 0) {
        Boot boot;
        const fs::path run = dir->mkdir(name);
        fs::copy_file(dir->path() / "vars-template.fd", run / "vars.fd");
        fs::create_directory(run / "tpm");
        if (floor > 0) {
            const testing::Swtpm provisioning(run / "tpm");
            auto tpm = floor::TpmFloor::open(provisioning.tcti());
            EXPECT_TRUE(tpm) << tpm.error().message;
            if (tpm) {
                auto raised = tpm->raise_to(floor);
                EXPECT_TRUE(raised) << raised.error().message;
            }
        }
        boot.tpm = spawn({"/usr/bin/swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + (run / "tpm").string(), "--ctrl",
                          "type=unixio,path=" + (run / "tpm.sock").string()},
                         (run / "swtpm.log").string());
        for (int i = 0; i < 100 && !fs::exists(run / "tpm.sock"); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        boot.console = run / "console.log";
        boot.qmp = run / "qmp.sock";
        boot.qemu = spawn({"/usr/bin/qemu-system-x86_64",
                           "-nodefaults",
                           "-machine",
                           "q35,smm=on",
                           "-accel",
                           "tcg",
                           "-cpu",
                           "max",
                           "-m",
                           "1024",
                           "-global",
                           "driver=cfi.pflash01,property=secure,value=on",
                           "-drive",
                           "if=pflash,format=raw,unit=0,readonly=on,file=" + kOvmfCode,
                           "-drive",
                           "if=pflash,format=raw,unit=1,file=" + (run / "vars.fd").string(),
                           "-drive",
                           "file=" + disk.string() + ",format=raw,if=virtio,readonly=on",
                           "-chardev",
                           "socket,id=chrtpm,path=" + (run / "tpm.sock").string(),
                           "-tpmdev",
                           "emulator,id=tpm0,chardev=chrtpm",
                           "-device",
                           "tpm-tis,tpmdev=tpm0",
                           "-display",
                           "none",
                           "-serial",
                           "file:" + boot.console.string(),
                           "-qmp",
                           "unix:" + boot.qmp.string() + ",server=on,wait=off",
                           "-no-reboot"},
                          (run / "qemu.log").string());
        return boot;
    }

    // Waits until the console holds `text` (true) or QEMU exits or time runs out (false).
    static bool wait_for(const Boot& boot, const std::string& text, int seconds) {
        const auto deadline = Clock::now() + std::chrono::seconds(seconds);
        while (Clock::now() < deadline) {
            if (read_file(boot.console).find(text) != std::string::npos) return true;
            if (::waitpid(boot.qemu, nullptr, WNOHANG) == boot.qemu) {
                return read_file(boot.console).find(text) != std::string::npos;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        return false;
    }

    // Whether QEMU ended by itself within `seconds` (the guest powered off or restarted).
    static bool exits_within(Boot& boot, int seconds) {
        const auto deadline = Clock::now() + std::chrono::seconds(seconds);
        while (Clock::now() < deadline) {
            if (::waitpid(boot.qemu, nullptr, WNOHANG) == boot.qemu) {
                boot.qemu = -1;
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        return false;
    }

    static void stop(Boot& boot) {
        for (pid_t* pid : {&boot.qemu, &boot.tpm}) {
            if (*pid > 0) {
                ::kill(*pid, SIGKILL);
                ::waitpid(*pid, nullptr, 0);
                *pid = -1;
            }
        }
    }

    // A small FAT disk whose only content is `efi` as the firmware's fallback boot program.
    static fs::path esp_disk(const std::string& name, const fs::path& efi) {
        const fs::path disk = dir->path() / (name + ".img");
        EXPECT_TRUE(run_program_checked({"/usr/sbin/mkfs.vfat", "-C", disk.string(), "65536"}));
        EXPECT_TRUE(run_program_checked({"/usr/bin/mmd", "-i", disk.string(), "::EFI", "::EFI/BOOT"}));
        EXPECT_TRUE(
            run_program_checked({"/usr/bin/mcopy", "-i", disk.string(), efi.string(), "::EFI/BOOT/BOOTX64.EFI"}));
        return disk;
    }

    static testing::TempDir* dir;
    static std::string* root_hash;
};
testing::TempDir* CoreImage::dir = nullptr;
std::string* CoreImage::root_hash = nullptr;

TEST_F(CoreImage, TheSignedImageBootsOnItsVerifiedRootAndShutsDownCleanly) {
    ASSERT_NE(root_hash, nullptr);
    // A floor equal to the image's security version lets it boot.
    Boot boot = this->boot("signed", dir->path() / "image/disk.img", 1);
    const bool started = wait_for(boot, "bulkheadd: serving on", 240);
    const std::string console = read_file(boot.console);
    EXPECT_TRUE(started) << console;
    EXPECT_NE(console.find("bulkhead-initrd: anti-rollback floor 1, image security version 1"), std::string::npos)
        << console;
    EXPECT_NE(console.find("bulkhead-initrd: image 0.1.0-boot-test, verity root hash " + *root_hash),
              std::string::npos);
    EXPECT_NE(console.find("bulkhead-init: image 0.1.0-boot-test; Secure Boot: enabled; TPM: present; root: /dev/dm-0 "
                           "(bulkhead-root) erofs read-only"),
              std::string::npos)
        << console;
    EXPECT_NE(console.find("Kernel is locked down"), std::string::npos) << console;
    EXPECT_NE(console.find("kernel hardening: 19 of 19 settings applied"), std::string::npos) << console;
    if (started) {
        // Ctrl-Alt-Del: bulkhead-init stops everything and reboots; -no-reboot makes that QEMU's exit.
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, boot.qmp.c_str(), sizeof address.sun_path - 1);
        ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        auto session = vmm::QmpSession::open(std::move(fd), 10000);
        ASSERT_TRUE(session) << session.error().message;
        json::Array keys;
        for (const char* key : {"ctrl", "alt", "delete"}) {
            keys.push_back(json::Value(
                json::Object{{"type", json::Value(std::string("qcode"))}, {"data", json::Value(std::string(key))}}));
        }
        ASSERT_TRUE(
            session->execute("send-key", json::Value(json::Object{{"keys", json::Value(std::move(keys))}}), 10000));
        EXPECT_TRUE(exits_within(boot, 60)) << read_file(boot.console);
        EXPECT_NE(read_file(boot.console).find("bulkhead-init: rebooting"), std::string::npos)
            << read_file(boot.console);
    }
    stop(boot);
}

TEST_F(CoreImage, TheFirmwareRefusesUnsignedForeignAndModifiedKernels) {
    ASSERT_NE(root_hash, nullptr);
    const fs::path image = dir->path() / "image";
    // Unsigned: the signature stripped again.
    const fs::path unsigned_efi = dir->path() / "unsigned.efi";
    fs::copy_file(image / "bulkhead.efi", unsigned_efi);
    ASSERT_TRUE(run_program_checked({"/usr/bin/sbattach", "--remove", unsigned_efi.string()}));
    // Foreign: signed with another owner's db key.
    const fs::path foreign_efi = dir->path() / "foreign.efi";
    auto foreign_plain = run_program_checked(
        {"/usr/bin/openssl", "pkey", "-in", (dir->path() / "foreign-keys/db.key").string(), "-passin",
         "file:" + (dir->path() / "pass").string(), "-out", (dir->path() / "foreign.pem").string()});
    ASSERT_TRUE(foreign_plain) << foreign_plain.error().message;
    ASSERT_TRUE(run_program_checked({"/usr/bin/sbsign", "--key", (dir->path() / "foreign.pem").string(), "--cert",
                                     (dir->path() / "foreign-keys/db.crt").string(), "--output", foreign_efi.string(),
                                     unsigned_efi.string()}));
    // Modified after signing: one byte of the kernel changed.
    const fs::path modified_efi = dir->path() / "modified.efi";
    fs::copy_file(image / "bulkhead.efi", modified_efi);
    {
        std::string bytes = testing::read_whole_file(modified_efi);
        bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
        dir->write("modified.efi", bytes);
    }
    for (const auto& [name, efi] : {std::pair{"unsigned", unsigned_efi}, std::pair{"foreign", foreign_efi},
                                    std::pair{"modified", modified_efi}}) {
        Boot boot = this->boot(name, esp_disk(name, efi));
        EXPECT_TRUE(wait_for(boot, "Access Denied", 120)) << name << ":\n" << read_file(boot.console);
        const std::string console = read_file(boot.console);
        EXPECT_EQ(console.find("Linux version"), std::string::npos) << name;
        EXPECT_EQ(console.find("bulkhead-initrd"), std::string::npos) << name;
        stop(boot);
    }
}

TEST_F(CoreImage, AnImageBelowTheTpmFloorIsRefusedBeforeItsRootIsMounted) {
    ASSERT_NE(root_hash, nullptr);
    // The same validly signed image, on a machine that has since blessed security version 2.
    Boot boot = this->boot("below-floor", dir->path() / "image/disk.img", 2);
    EXPECT_TRUE(exits_within(boot, 240)) << read_file(boot.console);  // rebooted, which -no-reboot ends
    const std::string console = read_file(boot.console);
    EXPECT_NE(console.find("bulkhead-initrd: cannot boot: image 0.1.0-boot-test has security version 1, below this "
                           "machine's anti-rollback floor 2"),
              std::string::npos)
        << console;
    EXPECT_EQ(console.find("verified root"), std::string::npos) << console;
    EXPECT_EQ(console.find("bulkhead-init:"), std::string::npos) << console;
    stop(boot);
}

TEST_F(CoreImage, ACorruptedRootStopsWithAVerityErrorAndNoShell) {
    ASSERT_NE(root_hash, nullptr);
    const fs::path disk = dir->path() / "corrupted.img";
    ASSERT_TRUE(run_program_checked(
        {"/usr/bin/cp", "--sparse=always", (dir->path() / "image/disk.img").string(), disk.string()}));
    // root-a's first block holds the erofs superblock: the first thing the mount reads.
    auto table = run_program_checked({"/usr/sbin/sfdisk", "--json", disk.string()});
    ASSERT_TRUE(table);
    const auto root_start =
        nlohmann::json::parse(table->out).at("partitiontable").at("partitions")[1].at("start").get<std::uint64_t>();
    {
        const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CLOEXEC));
        const auto offset = static_cast<off_t>(root_start * 512 + 1024 + 8);
        char byte = 0;
        ASSERT_EQ(::pread(fd.get(), &byte, 1, offset), 1);
        byte = static_cast<char>(byte ^ 0x01);
        ASSERT_EQ(::pwrite(fd.get(), &byte, 1, offset), 1);
    }
    Boot boot = this->boot("corrupted", disk);
    EXPECT_TRUE(exits_within(boot, 240)) << read_file(boot.console);  // restarted, which -no-reboot ends
    const std::string console = read_file(boot.console);
    EXPECT_NE(console.find("device-mapper: verity"), std::string::npos) << console;
    EXPECT_NE(console.find("is corrupted"), std::string::npos) << console;
    EXPECT_EQ(console.find("bulkhead-init:"), std::string::npos) << console;
    stop(boot);
}

}  // namespace
}  // namespace bulkhead
