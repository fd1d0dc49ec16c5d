// `bulkhead install` and `bulkhead system update | status | bless | rollback` on disk image files,
// as a release manager and an owner run them, with real signed images (`bulkhead image build`),
// a real TUF repository and real bundles. Every refusal leaves the disk byte for byte as it was.
// (Booting the results is tests/vm/ab_update_test.cpp.)
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_process.hpp"
#include "support/swtpm.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

const std::string kBin = BULKHEAD_BIN_DIR;
const fs::path kSource = fs::path(BULKHEAD_FIXTURES_DIR).parent_path().parent_path();

ProcessResult bulkhead(std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "/bulkhead");
    return testing::run_process(args);
}

std::string small_spec(const std::string& version, int security_version, bool boot_manager = true) {
    return "version = \"" + version + "\"\nsecurity_version = " + std::to_string(security_version) +
           "\n[kernel]\nimage = \"" + (kSource / "build-guest/kernel/current/vmlinuz").string() +
           "\"\nmodules_dir = \"" + (kSource / "build-guest/kernel/current/modules").string() +
           "\"\ninitrd_modules = \"" + (kSource / "deps/core-initrd-modules.txt").string() +
           "\"\nefi_stub = \"/usr/lib/systemd/boot/efi/linuxx64.efi.stub\"\n" +
           (boot_manager ? "boot_manager = \"/usr/lib/systemd/boot/efi/systemd-bootx64.efi\"\n" : "") +
           "args = [\"console=ttyS0\"]\n"
           "[initrd]\ninit = \"" +
           kBin + "/bulkhead-initrd\"\n[root]\ndirectories = [\"/proc\", \"/sys\", \"/dev\"]\nfiles = [\n" +
           "  { source = \"" + kBin + "/bulkhead-init\", target = \"/sbin/bulkhead-init\", mode = \"0755\" },\n" +
           "  { source = \"/usr/bin/true\", target = \"/usr/bin/true\", mode = \"0755\", libraries = true },\n" +
           "  { source = \"/etc/hostname\", target = \"/etc/version-" + version + "\", mode = \"0644\" },\n" +
           "]\n[disk]\nesp_mib = 512\nroot_slot_mib = 16\nverity_slot_mib = 1\nstate_mib = 16\n";
}

// Keys, two releases and their bundles are made once for all tests.
class InstallCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir = new testing::TempDir();
        std::ofstream(path("pass")) << "owner passphrase\n";
        for (const char* keys : {"keys", "foreign-keys"}) {
            ok({"keys", "secureboot-init", path(keys), "--passphrase-file", path("pass")});
        }
        for (const std::string name : {"root", "targets", "online"}) {
            ok({"keys", "generate", "--type", "ed25519", "--out", path(name + ".key"), "--insecure-plaintext"});
        }
        ok({"repo", "init", path("repo"), "--root-key", path("root.key"), "--targets-key", path("targets.key"),
            "--snapshot-key", path("online.key"), "--timestamp-key", path("online.key")});
        // Release 3 has no boot manager: it can update a disk, not install one.
        for (int release = 1; release <= 3; ++release) {
            const std::string name = "v" + std::to_string(release);
            std::ofstream(path(name + ".toml")) << small_spec("1." + std::to_string(release), release, release != 3);
            ok({"image", "build", "--spec", path(name + ".toml"), "--out", path(name), "--keys", path("keys"),
                "--passphrase-file", path("pass")});
            ok({"system", "publish", "--repo", path("repo"), "--image", path(name), "--release",
                std::to_string(release)});
            if (release == 1) ok({"repo", "sign", path("repo"), "--key", path("root.key")});
            ok({"repo", "sign", path("repo"), "--key", path("targets.key")});
            ok({"repo", "publish", path("repo"), "--snapshot-key", path("online.key"), "--timestamp-key",
                path("online.key")});
            ok({"system", "bundle", "--repo", path("repo"), "--out", path(name + ".bundle")});
        }
    }
    static void TearDownTestSuite() {
        delete dir;
        dir = nullptr;
    }

    static std::string path(const std::string& name) { return (dir->path() / name).string(); }
    static std::string trusted_root() { return path("repo/published/metadata/1.root.json"); }

    static void ok(const std::vector<std::string>& args) {
        const ProcessResult result = bulkhead(args);
        ASSERT_EQ(result.exit_code, 0) << args[0] << " " << args[1] << ": " << result.err << result.out;
    }
    static nlohmann::json json_of(const std::vector<std::string>& args) {
        ProcessResult result = bulkhead(args);
        EXPECT_EQ(result.exit_code, 0) << args[0] << " " << args[1] << ": " << result.err << result.out;
        return nlohmann::json::parse(result.out.empty() ? "null" : result.out);
    }

    static std::string make_disk(const std::string& name, const std::string& size) {
        const std::string disk = path(name);
        EXPECT_EQ(testing::run_process({"/usr/bin/truncate", "-s", size, disk}).exit_code, 0);
        return disk;
    }

    // Disks are sparse files of a GiB or more: compared by digest, never read into memory.
    static std::string digest(const std::string& file) {
        return testing::run_process({"/usr/bin/sha256sum", file}).out.substr(0, 64);
    }

    static std::vector<std::string> entries(const std::string& disk) {
        const auto status = json_of({"system", "status", "--disk", disk, "--json"});
        std::vector<std::string> names;
        for (const auto& entry : status.at("entries")) {
            names.push_back(entry.at("entry").get<std::string>() + "@" +
                            (entry.at("slot").is_null() ? std::string("none") : entry.at("slot").get<std::string>()));
        }
        return names;
    }

    static testing::TempDir* dir;
};
testing::TempDir* InstallCli::dir = nullptr;

TEST_F(InstallCli, InstallUpdateBlessAndRollBack) {
    const std::string disk = make_disk("disk.img", "1200M");
    const auto installed = json_of({"install", "--disk", disk, "--bundle", path("v1.bundle"), "--keys", path("keys"),
                                    "--trusted-root", trusted_root(), "--json"});
    EXPECT_EQ(installed.at("release"), 1);
    EXPECT_EQ(entries(disk), std::vector<std::string>{"bulkhead-1.efi@a"});
    const ProcessResult checked = testing::run_process({"/usr/sbin/sgdisk", "--verify", disk});
    EXPECT_NE(checked.out.find("No problems found"), std::string::npos) << checked.out;
    // The ESP holds systemd-boot, its configuration and the owner's keys for enrolment.
    const ProcessResult listed = testing::run_process({"/usr/bin/mdir", "-/", "-b", "-i", disk + "@@1M", "::/"});
    for (const char* file :
         {"::/EFI/BOOT/BOOTX64.EFI", "::/loader/loader.conf", "::/loader/keys/auto/PK.auth",
          "::/loader/keys/auto/KEK.auth", "::/loader/keys/auto/db.auth", "::/EFI/Linux/bulkhead-1.efi",
          "::/bulkhead/tuf/timestamp-1.json", "::/bulkhead/tuf/snapshot-1.json"}) {
        EXPECT_NE(listed.out.find(file), std::string::npos) << file << "\n" << listed.out;
    }

    const auto updated = json_of({"system", "update", path("v2.bundle"), "--disk", disk, "--trusted-root",
                                  trusted_root(), "--db-cert", path("keys/db.crt"), "--json"});
    EXPECT_EQ(updated.at("slot"), "b");
    EXPECT_EQ(entries(disk), (std::vector<std::string>{"bulkhead-2+3.efi@b", "bulkhead-1.efi@a"}));
    // The baseline moved on with the update's metadata: release 1's bundle, validly signed and
    // not expired, can no longer be installed on this disk.
    const ProcessResult baseline =
        testing::run_process({"/usr/bin/mdir", "-/", "-b", "-i", disk + "@@1M", "::/bulkhead/tuf"});
    EXPECT_NE(baseline.out.find("timestamp-2.json"), std::string::npos) << baseline.out;
    EXPECT_EQ(baseline.out.find("timestamp-1.json"), std::string::npos) << baseline.out;
    const ProcessResult older = bulkhead({"system", "update", path("v1.bundle"), "--disk", disk, "--trusted-root",
                                          trusted_root(), "--db-cert", path("keys/db.crt"), "--slot", "a"});
    EXPECT_NE(older.exit_code, 0);
    EXPECT_NE((older.err + older.out).find("older than the trusted version 2"), std::string::npos)
        << older.err << older.out;
    EXPECT_EQ(entries(disk), (std::vector<std::string>{"bulkhead-2+3.efi@b", "bulkhead-1.efi@a"}));
    ok({"system", "bless", "--disk", disk, "--release", "2"});
    EXPECT_EQ(entries(disk), (std::vector<std::string>{"bulkhead-2.efi@b", "bulkhead-1.efi@a"}));
    const auto rolled = json_of({"system", "rollback", "--disk", disk, "--json"});
    EXPECT_EQ(rolled.at("next"), 1);
    EXPECT_EQ(entries(disk), (std::vector<std::string>{"bulkhead-1.efi@a", "bulkhead-2+0.efi@b"}));
}

TEST_F(InstallCli, RefusedInstallsWriteNothing) {
    const std::string small = make_disk("small.img", "600M");
    const std::string disk = make_disk("target.img", "1200M");
    const std::string before = digest(small);
    const ProcessResult too_small = bulkhead({"install", "--disk", small, "--bundle", path("v1.bundle"), "--keys",
                                              path("keys"), "--trusted-root", trusted_root(), "--json"});
    EXPECT_EQ(too_small.exit_code, 1);
    EXPECT_NE(too_small.out.find("needs at least"), std::string::npos) << too_small.out;
    EXPECT_EQ(digest(small), before);

    // Another owner's keys: the firmware would refuse the kernel, so the installer does.
    const ProcessResult foreign = bulkhead({"install", "--disk", disk, "--bundle", path("v1.bundle"), "--keys",
                                            path("foreign-keys"), "--trusted-root", trusted_root(), "--json"});
    EXPECT_EQ(foreign.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(foreign.out).at("error").at("code"), "not_signed") << foreign.out;

    // A disk another program holds (as QEMU locks the images it runs).
    {
        const int holder = ::open(disk.c_str(), O_RDWR | O_CLOEXEC);
        struct flock lock {};
        lock.l_type = F_WRLCK;
        lock.l_whence = SEEK_SET;
        ASSERT_EQ(::fcntl(holder, F_OFD_SETLK, &lock), 0);
        const ProcessResult busy = bulkhead({"install", "--disk", disk, "--bundle", path("v1.bundle"), "--keys",
                                             path("keys"), "--trusted-root", trusted_root(), "--json"});
        ::close(holder);
        EXPECT_EQ(busy.exit_code, 1);
        EXPECT_NE(busy.out.find("in use"), std::string::npos) << busy.out;
    }
    // A bundle without a boot manager, a truncated bundle.
    const ProcessResult no_boot_manager = bulkhead({"install", "--disk", disk, "--bundle", path("v3.bundle"), "--keys",
                                                    path("keys"), "--trusted-root", trusted_root(), "--json"});
    EXPECT_EQ(no_boot_manager.exit_code, 1);
    EXPECT_NE(no_boot_manager.out.find("no boot manager"), std::string::npos) << no_boot_manager.out;
    const std::string bundle = testing::read_whole_file(path("v1.bundle"));
    std::ofstream(path("truncated.bundle"), std::ios::binary) << bundle.substr(0, bundle.size() - 100);
    const ProcessResult truncated = bulkhead({"install", "--disk", disk, "--bundle", path("truncated.bundle"), "--keys",
                                              path("keys"), "--trusted-root", trusted_root(), "--json"});
    EXPECT_EQ(truncated.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(truncated.out).at("error").at("code"), "parse") << truncated.out;
    // Nothing was written to the disk by any of them: it is all zeros still.
    const ProcessResult zeros = testing::run_process({"/usr/bin/cmp", disk, "/dev/zero"});
    EXPECT_NE(zeros.err.find("EOF on " + disk), std::string::npos) << zeros.out << zeros.err;
}

TEST_F(InstallCli, ARefusedUpdateLeavesTheSlotsAsTheyWere) {
    const std::string disk = make_disk("update.img", "1200M");
    ok({"install", "--disk", disk, "--bundle", path("v1.bundle"), "--keys", path("keys"), "--trusted-root",
        trusted_root()});
    const std::string bundle = testing::read_whole_file(path("v2.bundle"));
    std::string corrupted = bundle;
    corrupted[corrupted.size() - 10] = static_cast<char>(corrupted[corrupted.size() - 10] ^ 1);
    std::ofstream(path("corrupted.bundle"), std::ios::binary) << corrupted;
    std::ofstream(path("cut.bundle"), std::ios::binary) << bundle.substr(0, bundle.size() / 2);
    const std::string before = digest(disk);
    // Signed for another owner: the firmware would refuse the kernel, so the update does.
    const ProcessResult foreign = bulkhead({"system", "update", path("v2.bundle"), "--disk", disk, "--trusted-root",
                                            trusted_root(), "--db-cert", path("foreign-keys/db.crt"), "--json"});
    EXPECT_EQ(foreign.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(foreign.out).at("error").at("code"), "not_signed") << foreign.out;
    EXPECT_EQ(digest(disk), before) << "a foreign kernel changed the disk";
    const ProcessResult no_certificate =
        bulkhead({"system", "update", path("v2.bundle"), "--disk", disk, "--trusted-root", trusted_root(), "--json"});
    EXPECT_EQ(no_certificate.exit_code, 1);
    EXPECT_NE(no_certificate.out.find("--db-cert"), std::string::npos) << no_certificate.out;
    for (const char* name : {"corrupted.bundle", "cut.bundle"}) {
        const ProcessResult refused = bulkhead({"system", "update", path(name), "--disk", disk, "--trusted-root",
                                                trusted_root(), "--db-cert", path("keys/db.crt"), "--json"});
        EXPECT_EQ(refused.exit_code, 1) << name << refused.out;
        EXPECT_EQ(digest(disk), before) << name << " changed the disk";
    }
}

TEST_F(InstallCli, TheTpmFloorGuardsBlessUpdateAndRollback) {
    const testing::Swtpm swtpm(dir->path() / "floor-tpm");
    const std::string disk = make_disk("floor.img", "1200M");
    ok({"install", "--disk", disk, "--bundle", path("v1.bundle"), "--keys", path("keys"), "--trusted-root",
        trusted_root()});
    ok({"system", "update", path("v2.bundle"), "--disk", disk, "--trusted-root", trusted_root(), "--db-cert",
        path("keys/db.crt"), "--tcti", swtpm.tcti()});
    // A second update before release 2 is blessed would overwrite the only blessed release.
    const ProcessResult unblessed = bulkhead({"system", "update", path("v3.bundle"), "--disk", disk, "--trusted-root",
                                              trusted_root(), "--db-cert", path("keys/db.crt"), "--json"});
    EXPECT_EQ(unblessed.exit_code, 1);
    EXPECT_NE(unblessed.out.find("no blessed release to fall back to"), std::string::npos) << unblessed.out;

    const auto blessed =
        json_of({"system", "bless", "--disk", disk, "--release", "2", "--tcti", swtpm.tcti(), "--json"});
    EXPECT_EQ(blessed.at("floor"), 2);
    const auto status = json_of({"system", "status", "--disk", disk, "--tcti", swtpm.tcti(), "--json"});
    EXPECT_EQ(status.at("floor").at("floor"), 2);
    // Release 1 (security version 1) is below the floor now: no rollback to it, no update to it.
    const ProcessResult rollback = bulkhead({"system", "rollback", "--disk", disk, "--tcti", swtpm.tcti(), "--json"});
    EXPECT_EQ(rollback.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(rollback.out).at("error").at("code"), "rollback") << rollback.out;
    const std::vector<std::string> update_to_1 = {"system",       "update",    path("v1.bundle"),   "--disk",
                                                  disk,           "--db-cert", path("keys/db.crt"), "--trusted-root",
                                                  trusted_root(), "--tcti",    swtpm.tcti(),        "--json"};
    const ProcessResult older = bulkhead(update_to_1);
    EXPECT_EQ(older.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(older.out).at("error").at("code"), "rollback") << older.out;
    EXPECT_NE(older.out.find("older than the trusted version"), std::string::npos) << older.out;
    // Even with the TUF baseline on the ESP gone (whoever can write the disk can do that), the
    // floor still refuses it.
    EXPECT_EQ(testing::run_process({"/usr/bin/mdeltree", "-i", disk + "@@1M", "::/bulkhead"}).exit_code, 0);
    const ProcessResult below = bulkhead(update_to_1);
    EXPECT_EQ(below.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(below.out).at("error").at("code"), "rollback") << below.out;
    EXPECT_NE(below.out.find("below this machine's anti-rollback floor 2"), std::string::npos) << below.out;
    EXPECT_EQ(entries(disk), (std::vector<std::string>{"bulkhead-2.efi@b", "bulkhead-1.efi@a"}));
}

}  // namespace
}  // namespace bulkhead
