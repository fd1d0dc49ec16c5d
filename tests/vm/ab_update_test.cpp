// The whole life of a Bulkhead disk, booted as firmware boots it: QEMU (TCG) with OVMF's Secure
// Boot firmware starting in Setup Mode, swtpm as the TPM, systemd-boot, the repository's own
// image spec (image/bulkhead.toml) in three releases.
//   install v1 -> systemd-boot enrolls the owner's keys, the machine resets into Secure Boot and
//   starts v1, which passes its health check and is blessed (floor 1);
//   update to v2 -> v2 is tried, comes up, is blessed (floor 2);
//   update to a broken v3 (a corrupted root) -> every try ends in a dm-verity restart, the tries
//   run out, and systemd-boot falls back to v2 by itself;
//   an update stopped after its data is written (as a power cut would) -> v2 still starts.
// The TPM floor refusing an older signed image is tests/vm/core_image_test.cpp; every stop of
// an update is tests/update/core_disk_test.cpp; refused bundles are tests/cmd/install_cli_test.cpp.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/process.hpp"
#include "base/text.hpp"
#include "bundle/bundle.hpp"
#include "floor/tpm_floor.hpp"
#include "support/spawn.hpp"
#include "support/swtpm.hpp"
#include "support/temp_dir.hpp"
#include "tuf/time.hpp"
#include "update/core_disk.hpp"
#include "update/verify_bundle.hpp"

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

// The repository's image spec as release `version`, with its relative paths made absolute.
std::string spec_variant(const std::string& version, int security_version) {
    std::string text = read_file(kSource / "image/bulkhead.toml");
    const auto replace = [&text](const std::string& from, const std::string& to) {
        std::size_t at = 0;
        while ((at = text.find(from, at)) != std::string::npos) {
            text.replace(at, from.size(), to);
            at += to.size();
        }
    };
    replace("version = \"0.1.0\"", "version = \"" + version + "\"");
    replace("security_version = 1", "security_version = " + std::to_string(security_version));
    replace("\"../", "\"" + kSource.string() + "/");
    return text;
}

// One machine: its disk, its firmware variables and its TPM persist across boots.
class Machine {
public:
    explicit Machine(const fs::path& dir) : dir_(dir) {
        fs::copy_file(kOvmfVarsTemplate, dir_ / "vars.fd");  // Setup Mode: no keys enrolled
        fs::create_directories(dir_ / "tpm");
    }

    [[nodiscard]] fs::path disk() const { return dir_ / "disk.img"; }

    // Boots until `text` is on the console (true) or `seconds` pass (false); QEMU may reset the
    // machine as often as it likes meanwhile. The machine is switched off afterwards.
    bool boot_until(const std::string& name, const std::string& text, int seconds) {
        console_ = dir_ / (name + ".console");
        const std::string socket = (dir_ / "tpm.sock").string();
        fs::remove(socket);
        const pid_t tpm = spawn({"/usr/bin/swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + (dir_ / "tpm").string(),
                                 "--ctrl", "type=unixio,path=" + socket},
                                (dir_ / (name + ".swtpm.log")).string());
        for (int i = 0; i < 100 && !fs::exists(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const pid_t qemu = spawn({"/usr/bin/qemu-system-x86_64",
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
                                  "if=pflash,format=raw,unit=1,file=" + (dir_ / "vars.fd").string(),
                                  "-drive",
                                  "file=" + disk().string() + ",format=raw,if=virtio",
                                  "-chardev",
                                  "socket,id=chrtpm,path=" + socket,
                                  "-tpmdev",
                                  "emulator,id=tpm0,chardev=chrtpm",
                                  "-device",
                                  "tpm-tis,tpmdev=tpm0",
                                  "-display",
                                  "none",
                                  "-serial",
                                  "file:" + console_.string()},
                                 (dir_ / (name + ".qemu.log")).string());
        bool seen = false;
        const auto deadline = Clock::now() + std::chrono::seconds(seconds);
        while (Clock::now() < deadline) {
            if (read_file(console_).find(text) != std::string::npos) {
                seen = true;
                break;
            }
            if (::waitpid(qemu, nullptr, WNOHANG) == qemu) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        // Off: QEMU writes what the guest wrote before it exits; swtpm keeps its state on disk.
        for (const pid_t pid : {qemu, tpm}) {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
        }
        return seen;
    }

    [[nodiscard]] std::string console() const { return read_file(console_); }

    // The floor as the machine's TPM holds it.
    Result<tpm::FloorReading> floor() const {
        const testing::Swtpm swtpm(dir_ / "tpm");
        auto tpm = floor::TpmFloor::open(swtpm.tcti());
        if (!tpm) return fail(tpm.error());
        return tpm->read();
    }

private:
    fs::path dir_;
    fs::path console_;
};

class AbUpdate : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir = new testing::TempDir();
        std::ofstream(path("pass")) << "owner passphrase\n";
        ok({"keys", "secureboot-init", path("keys"), "--passphrase-file", path("pass")});
        for (const std::string name : {"root", "targets", "online"}) {
            ok({"keys", "generate", "--type", "ed25519", "--out", path(name + ".key"), "--insecure-plaintext"});
        }
        ok({"repo", "init", path("repo"), "--root-key", path("root.key"), "--targets-key", path("targets.key"),
            "--snapshot-key", path("online.key"), "--timestamp-key", path("online.key")});
        for (int release = 1; release <= 3; ++release) {
            const std::string name = "v" + std::to_string(release);
            std::ofstream(path(name + ".toml")) << spec_variant("9." + std::to_string(release), std::min(release, 2));
            ok({"image", "build", "--spec", path(name + ".toml"), "--out", path(name), "--keys", path("keys"),
                "--passphrase-file", path("pass")});
            if (release == 3) {
                // Broken after it was built and signed: its metadata matches it, its verity tree does not.
                const int fd = ::open(path("v3/root.erofs").c_str(), O_RDWR | O_CLOEXEC);
                char byte = 0;
                ASSERT_EQ(::pread(fd, &byte, 1, 1024 + 8), 1);
                byte = static_cast<char>(byte ^ 0x01);
                ASSERT_EQ(::pwrite(fd, &byte, 1, 1024 + 8), 1);
                ::close(fd);
            }
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
    static void ok(const std::vector<std::string>& args) {
        std::vector<std::string> argv = args;
        argv.insert(argv.begin(), kBin + "/bulkhead");
        auto result = run_program(argv);
        ASSERT_TRUE(result);
        ASSERT_EQ(result->exit_code, 0) << args[0] << " " << args[1] << ": " << result->err << result->out;
    }
    static std::vector<std::string> entries(const fs::path& disk) {
        auto result = run_program({kBin + "/bulkhead", "system", "status", "--disk", disk.string(), "--json"});
        EXPECT_TRUE(result && result->exit_code == 0);
        std::vector<std::string> names;
        if (!result) return names;
        const auto status = nlohmann::json::parse(result->out);
        EXPECT_FALSE(status.at("entries").empty()) << result->out << result->err;
        for (const auto& entry : status.at("entries")) {
            names.push_back(entry.at("entry").get<std::string>() + "@" +
                            (entry.at("slot").is_null() ? std::string("none") : entry.at("slot").get<std::string>()));
        }
        return names;
    }

    static testing::TempDir* dir;
};
testing::TempDir* AbUpdate::dir = nullptr;

TEST_F(AbUpdate, InstallEnrollUpdateBlessFallBackAndSurviveAStoppedUpdate) {
    ASSERT_NE(dir, nullptr);
    Machine machine(dir->mkdir("machine"));
    std::ofstream(machine.disk()).close();
    ASSERT_EQ(::truncate(machine.disk().c_str(), 1200LL << 20), 0);
    const std::string trusted_root = path("repo/published/metadata/1.root.json");
    ok({"install", "--disk", machine.disk().string(), "--bundle", path("v1.bundle"), "--keys", path("keys")});

    // 1. First boot in Setup Mode: systemd-boot enrolls the owner's keys and resets; v1 then
    //    starts under Secure Boot, passes its health check and is blessed.
    EXPECT_TRUE(machine.boot_until("first", "anti-rollback floor: 1", 480)) << machine.console();
    std::string console = machine.console();
    EXPECT_NE(console.find("bulkhead-initrd: image 9.1"), std::string::npos) << console;
    EXPECT_NE(console.find("Secure Boot: enabled"), std::string::npos) << console;
    EXPECT_NE(console.find("blessed core release 1"), std::string::npos) << console;
    auto floor = machine.floor();
    ASSERT_TRUE(floor) << floor.error().message;
    EXPECT_EQ(floor->floor, 1U);

    // 2. v2 into slot b: tried, up, blessed; the floor follows its security version.
    ok({"system", "update", path("v2.bundle"), "--disk", machine.disk().string(), "--trusted-root", trusted_root,
        "--db-cert", path("keys/db.crt")});
    EXPECT_EQ(entries(machine.disk()), (std::vector<std::string>{"bulkhead-2+3.efi@b", "bulkhead-1.efi@a"}));
    EXPECT_TRUE(machine.boot_until("v2", "anti-rollback floor: 2", 300)) << machine.console();
    console = machine.console();
    EXPECT_NE(console.find("bulkhead-initrd: image 9.2"), std::string::npos) << console;
    EXPECT_NE(console.find("blessed core release 2"), std::string::npos) << console;
    EXPECT_EQ(entries(machine.disk()), (std::vector<std::string>{"bulkhead-2.efi@b", "bulkhead-1.efi@a"}));

    // 3. A broken v3 into slot a: each try ends in a verity restart; then v2 comes back by itself.
    ok({"system", "update", path("v3.bundle"), "--disk", machine.disk().string(), "--trusted-root", trusted_root,
        "--db-cert", path("keys/db.crt")});
    EXPECT_EQ(entries(machine.disk()), (std::vector<std::string>{"bulkhead-3+3.efi@a", "bulkhead-2.efi@b"}));
    EXPECT_TRUE(machine.boot_until("fallback", "blessed core release 2", 900)) << machine.console();
    console = machine.console();
    EXPECT_NE(console.find("bulkhead-initrd: image 9.3"), std::string::npos) << console;
    EXPECT_NE(console.find("is corrupted"), std::string::npos) << console;
    EXPECT_NE(console.rfind("bulkhead-initrd: image 9.2"), std::string::npos) << console;
    EXPECT_EQ(entries(machine.disk()), (std::vector<std::string>{"bulkhead-2.efi@b", "bulkhead-3+0-3.efi@a"}));
    floor = machine.floor();
    ASSERT_TRUE(floor) << floor.error().message;
    EXPECT_EQ(floor->floor, 2U) << "a release that never came up changed the floor";

    // 4. An update stopped once its data is in slot a (its old entry gone, its UUIDs not yet
    //    switched): the machine starts v2 as before.
    {
        auto opened = bundle::Bundle::open(path("v1.bundle"));
        ASSERT_TRUE(opened);
        auto verified = update::verify_bundle(*opened, read_file(trusted_root), tuf::now());
        ASSERT_TRUE(verified) << verified.error().message;
        auto disk = update::CoreDisk::open(machine.disk().string());
        ASSERT_TRUE(disk);
        auto stopped = disk->install(*opened, *verified, 'a', [](update::InstallStep step) {
            return step == update::InstallStep::verified ? Result<void>(fail(ErrorCode::io, "power lost"))
                                                         : Result<void>{};
        });
        ASSERT_FALSE(stopped);
    }
    EXPECT_EQ(entries(machine.disk()), std::vector<std::string>{"bulkhead-2.efi@b"});
    EXPECT_TRUE(machine.boot_until("stopped", "blessed core release 2", 300)) << machine.console();
    EXPECT_NE(machine.console().find("bulkhead-initrd: image 9.2"), std::string::npos) << machine.console();
}

}  // namespace
}  // namespace bulkhead
