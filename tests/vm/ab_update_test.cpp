// The whole life of a Bulkhead disk, booted as firmware boots it: QEMU (TCG) with OVMF's Secure
// Boot firmware starting in Setup Mode, swtpm as the TPM, systemd-boot, the repository's own
// image spec (image/bulkhead.toml) in three releases. Every update runs inside the machine, from
// an update medium (the bundle written raw onto a second disk, as onto a USB stick):
//   install v1 -> systemd-boot enrolls the owner's keys, the machine resets into Secure Boot and
//   starts v1, which passes its health check and is blessed (floor 1);
//   v2 on a medium -> v1 installs it after blessing its boot; the power is cut as each step of
//   that update completes, and every next boot starts v1 from its verified root and runs the
//   update again, until v2 is in place; v2 is then tried, comes up, is blessed (floor 2);
//   a broken v3 (a corrupted root) on a medium -> installed by v2; every try of it ends in a
//   dm-verity restart, the tries run out, and systemd-boot falls back to v2 by itself;
//   the validly signed v1 on a medium -> left alone by v2: not newer than what the disk holds
//   (its metadata is older than what the machine accepted, and it is below the floor: both are
//   tests/cmd/install_cli_test.cpp).
// The TPM floor refusing to boot an older signed image is tests/vm/core_image_test.cpp; every
// stop of an update is also tests/update/core_disk_test.cpp; refused bundles are
// tests/cmd/install_cli_test.cpp.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/process.hpp"
#include "base/text.hpp"
#include "floor/tpm_floor.hpp"
#include "support/spawn.hpp"
#include "support/swtpm.hpp"
#include "support/temp_dir.hpp"

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

    // Boots until one of `texts` is on the console (true) or `seconds` pass (false); QEMU may
    // reset the machine as often as it likes meanwhile. The machine is switched off afterwards:
    // at once, as a power cut, when `cut` is set. `medium`: a second disk (an update medium),
    // read-only.
    bool boot_until(const std::string& name, const std::string& text, int seconds, const fs::path& medium = {},
                    bool cut = false) {
        return boot_until_any(name, {text}, seconds, medium, cut);
    }
    bool boot_until_any(const std::string& name, const std::vector<std::string>& texts, int seconds,
                        const fs::path& medium = {}, bool cut = false) {
        console_ = dir_ / (name + ".console");
        const std::string socket = (dir_ / "tpm.sock").string();
        fs::remove(socket);
        const pid_t tpm = spawn({"/usr/bin/swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + (dir_ / "tpm").string(),
                                 "--ctrl", "type=unixio,path=" + socket},
                                (dir_ / (name + ".swtpm.log")).string());
        for (int i = 0; i < 100 && !fs::exists(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::vector<std::string> qemu_args = {"/usr/bin/qemu-system-x86_64",
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
                                              "file:" + console_.string()};
        if (!medium.empty()) {
            qemu_args.insert(qemu_args.end(),
                             {"-drive", "file=" + medium.string() + ",format=raw,if=virtio,readonly=on"});
        }
        const pid_t qemu = spawn(qemu_args, (dir_ / (name + ".qemu.log")).string());
        bool seen = false;
        const auto deadline = Clock::now() + std::chrono::seconds(seconds);
        while (Clock::now() < deadline) {
            const std::string shown = read_file(console_);
            if (std::any_of(texts.begin(), texts.end(),
                            [&shown](const std::string& text) { return shown.find(text) != std::string::npos; })) {
                seen = true;
                break;
            }
            if (::waitpid(qemu, nullptr, WNOHANG) == qemu) break;
            // A cut should land close to the step it follows: some steps take milliseconds.
            std::this_thread::sleep_for(std::chrono::milliseconds(cut ? 10 : 500));
        }
        // Off: QEMU writes what the guest wrote before it exits (SIGKILL: nothing more, as a power
        // cut); swtpm keeps its state on disk.
        ::kill(qemu, cut ? SIGKILL : SIGTERM);
        ::waitpid(qemu, nullptr, 0);
        ::kill(tpm, SIGTERM);
        ::waitpid(tpm, nullptr, 0);
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
        // The root is signed first: every image carries it as the root its updates verify against.
        ok({"repo", "sign", path("repo"), "--key", path("root.key")});
        fs::copy_file(path("repo/staged/root.json"), path("trusted-root.json"));
        for (int release = 1; release <= 3; ++release) {
            const std::string name = "v" + std::to_string(release);
            std::ofstream(path(name + ".toml")) << spec_variant("9." + std::to_string(release), std::min(release, 2));
            ok({"image", "build", "--spec", path(name + ".toml"), "--out", path(name), "--keys", path("keys"),
                "--passphrase-file", path("pass"), "--update-root", path("trusted-root.json")});
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
            ok({"repo", "sign", path("repo"), "--key", path("targets.key")});
            ok({"repo", "publish", path("repo"), "--snapshot-key", path("online.key"), "--timestamp-key",
                path("online.key")});
            ok({"system", "bundle", "--repo", path("repo"), "--out", path(name + ".bundle")});
            // The bundle written raw onto a "USB stick" larger than itself, whose rest is not zero.
            std::string stick = read_file(path(name + ".bundle"));
            stick.resize((stick.size() / (1U << 20) + 2) << 20, '\x5a');
            std::ofstream(path(name + ".stick"), std::ios::binary) << stick;
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

TEST_F(AbUpdate, InstallEnrollUpdateFromMediaThroughPowerCutsBlessFallBackAndRefuseOlder) {
    ASSERT_NE(dir, nullptr);
    Machine machine(dir->mkdir("machine"));
    std::ofstream(machine.disk()).close();
    ASSERT_EQ(::truncate(machine.disk().c_str(), 1200LL << 20), 0);
    ok({"install", "--disk", machine.disk().string(), "--bundle", path("v1.bundle"), "--keys", path("keys")});

    // 1. First boot in Setup Mode: systemd-boot enrolls the owner's keys and resets; v1 then
    //    starts under Secure Boot, passes its health check and is blessed. No medium: nothing else.
    EXPECT_TRUE(machine.boot_until("first", "no update medium attached", 480)) << machine.console();
    std::string console = machine.console();
    EXPECT_NE(console.find("bulkhead-initrd: image 9.1"), std::string::npos) << console;
    EXPECT_NE(console.find("Secure Boot: enabled"), std::string::npos) << console;
    EXPECT_NE(console.find("blessed core release 1"), std::string::npos) << console;
    auto floor = machine.floor();
    ASSERT_TRUE(floor) << floor.error().message;
    EXPECT_EQ(floor->floor, 1U);

    // 2. v2 on a medium: v1 installs it into slot b after blessing its boot. The power is cut as
    //    each step completes; the cut lands in the step after it, or later when the next steps
    //    take milliseconds (a cut after the entry is added leaves the update complete). Each next
    //    boot starts v1 from its verified root and runs the update again: from the start, or only
    //    the entry when the slot already holds v2. (The console ends lines with CR LF.)
    const std::vector<std::string> steps = {"entries-removed", "emptied",  "written",
                                            "verified",        "switched", "entry-added"};
    const std::vector<std::string> complete = {"bulkhead-2+3.efi@b", "bulkhead-1.efi@a"};
    int cuts = 0;
    for (const std::string& step : steps) {
        if (entries(machine.disk()) == complete) break;
        EXPECT_TRUE(machine.boot_until_any("cut-after-" + step, {"  " + step + "\r\n", "installed core release 2"}, 600,
                                           path("v2.stick"), true))
            << machine.console();
        ++cuts;
        console = machine.console();
        EXPECT_NE(console.find("bulkhead-initrd: image 9.1"), std::string::npos) << step << ": " << console;
        EXPECT_NE(console.find("root: /dev/dm-0 (bulkhead-root) erofs read-only"), std::string::npos)
            << step << ": " << console;
        EXPECT_NE(console.find("blessed core release 1"), std::string::npos) << step << ": " << console;
        EXPECT_NE(console.find("update medium /dev/vdb"), std::string::npos) << step << ": " << console;
        const std::vector<std::string> found = entries(machine.disk());
        EXPECT_TRUE(found == std::vector<std::string>{"bulkhead-1.efi@a"} || found == complete)
            << step << ": " << ::testing::PrintToString(found);
    }
    // Writing and reading back the slot take seconds: at least the cuts in them always happen.
    EXPECT_GE(cuts, 3);
    if (entries(machine.disk()) != complete) {
        EXPECT_TRUE(machine.boot_until("finish", "installed core release 2", 600, path("v2.stick")))
            << machine.console();
    }
    EXPECT_EQ(entries(machine.disk()), complete);

    // 3. v2 is tried, comes up and is blessed (floor 2); a broken v3 on a medium is then
    //    installed into slot a, completely this time.
    EXPECT_TRUE(machine.boot_until("v2", "installed core release 3", 600, path("v3.stick"))) << machine.console();
    console = machine.console();
    EXPECT_NE(console.find("bulkhead-initrd: image 9.2"), std::string::npos) << console;
    EXPECT_NE(console.find("blessed core release 2"), std::string::npos) << console;
    EXPECT_EQ(entries(machine.disk()), (std::vector<std::string>{"bulkhead-3+3.efi@a", "bulkhead-2.efi@b"}));
    floor = machine.floor();
    ASSERT_TRUE(floor) << floor.error().message;
    EXPECT_EQ(floor->floor, 2U);

    // 4. Each try of v3 ends in a verity restart; then v2 comes back by itself, and leaves the
    //    validly signed, unexpired v1 on a medium alone: it is older than what the disk holds.
    EXPECT_TRUE(machine.boot_until("fallback", "core release 1 on the update medium is not newer than release 3", 900,
                                   path("v1.stick")))
        << machine.console();
    console = machine.console();
    EXPECT_NE(console.find("bulkhead-initrd: image 9.3"), std::string::npos) << console;
    EXPECT_NE(console.find("is corrupted"), std::string::npos) << console;
    EXPECT_NE(console.rfind("bulkhead-initrd: image 9.2"), std::string::npos) << console;
    EXPECT_NE(console.find("blessed core release 2"), std::string::npos) << console;
    EXPECT_EQ(entries(machine.disk()), (std::vector<std::string>{"bulkhead-2.efi@b", "bulkhead-3+0-3.efi@a"}));
    floor = machine.floor();
    ASSERT_TRUE(floor) << floor.error().message;
    EXPECT_EQ(floor->floor, 2U) << "a release that never came up changed the floor";
}

}  // namespace
}  // namespace bulkhead
