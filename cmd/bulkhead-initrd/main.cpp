// bulkhead-initrd: /init of the system core's initramfs (docs/IMAGE.md). No shell, no busybox,
// no emergency mode: it loads the modules it carries, reads the verity root hash and image
// version from the kernel command line (part of the signed unified kernel image), refuses an
// image whose security version is below the TPM's anti-rollback floor, finds the
// root and verity partitions by the UUIDs derived from that hash, makes the verified root a
// read-only device-mapper device (any corruption found later restarts the machine), mounts it
// read-only, moves into it and runs bulkhead-init. Any failure is written to the console and
// the machine reboots. A static binary; it never returns.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <exception>
#include <string>
#include <string_view>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "devmapper/devmapper.hpp"
#include "initrd/boot_args.hpp"
#include "initrd/modules.hpp"
#include "initrd/partitions.hpp"
#include "tpm/floor_reading.hpp"
#include "verity/hash_tree.hpp"
#include "verity/superblock.hpp"

namespace {

using namespace bulkhead;

constexpr int kDiskWaitMs = 15000;
constexpr int kTpmWaitMs = 5000;
constexpr const char* kTpmDevice = "/dev/tpmrm0";
constexpr const char* kFloorReader = "/bin/bulkhead-tpm-floor";
constexpr int kFloorReaderSeconds = 60;
constexpr std::size_t kMaxReasonBytes = 512;
constexpr const char* kNewRoot = "/sysroot";
constexpr const char* kInit = "/sbin/bulkhead-init";

void say(const std::string& line) {
    const std::string text = "bulkhead-initrd: " + line + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
}

[[noreturn]] void reboot_now(const std::string& why) {
    say("cannot boot: " + why);
    say("rebooting (Bulkhead has no rescue shell)");
    ::sync();
    timespec pause{3, 0};
    ::nanosleep(&pause, nullptr);  // time for the console to show why
    ::reboot(RB_AUTOBOOT);
    for (;;) ::pause();
}

void must_mount(const char* source, const char* target, const char* type, unsigned long flags,
                const char* options = nullptr) {
    ::mkdir(target, 0755);
    if (::mount(source, target, type, flags, options) != 0) {
        reboot_now(Error::from_errno(errno, std::string("mounting ") + target).message);
    }
}

// The reader's stderr, bounded and without control characters, for the console.
std::string printable_line(std::string_view text) {
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    std::string line;
    for (const char c : text.substr(0, kMaxReasonBytes)) {
        line.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
    }
    return line;
}

std::uint64_t now_ms() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000 + static_cast<std::uint64_t>(now.tv_nsec) / 1000000;
}

Result<std::uint64_t> device_bytes(const std::string& device) {
    const std::string name = device.substr(device.rfind('/') + 1);
    auto size = read_file_bounded("/sys/class/block/" + name + "/size", 64);
    if (!size) return fail(size.error());
    std::uint64_t sectors = 0;
    for (const char c : *size) {
        if (c == '\n') break;
        if (c < '0' || c > '9') return fail(ErrorCode::parse, "bad size of " + device);
        sectors = sectors * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return sectors * 512;
}

// The anti-rollback floor: an image older than one this machine has blessed (a lower security
// version) is refused before its root is even looked at. There is no way around it from the
// command line, which is signed, and none without a TPM. The TPM is read through ESAPI by
// kFloorReader, a dynamic program carried in this initramfs with its libraries (this /init is
// static, and tpm2-tss exists only as shared libraries); this /init checks and interprets
// the two values it reports itself.
void check_floor(const initrd::BootArgs& args) {
    const std::uint64_t deadline = now_ms() + kTpmWaitMs;
    struct stat device {};
    int found = -1;
    for (;;) {
        found = ::stat(kTpmDevice, &device);
        if (found == 0 || errno != ENOENT || now_ms() > deadline) break;
        timespec pause{0, 50L * 1000 * 1000};
        ::nanosleep(&pause, nullptr);
    }
    if (found != 0) {
        reboot_now(Error::from_errno(
                       errno, std::string("finding the TPM (") + kTpmDevice + ") to check the anti-rollback floor")
                       .message);
    }
    RunOptions options;
    options.timeout_seconds = kFloorReaderSeconds;
    auto ran = run_program({kFloorReader}, options);
    if (!ran) reboot_now("starting the anti-rollback floor reader: " + ran.error().message);
    if (ran->exit_code != 0) {
        reboot_now("reading the anti-rollback floor: " +
                   (ran->err.empty() ? std::string("the reader failed") : printable_line(ran->err)));
    }
    auto reading = tpm::parse_floor_report(ran->out);
    if (!reading) reboot_now("reading the anti-rollback floor: " + reading.error().message);
    const std::string security = std::to_string(args.security_version);
    if (!reading->provisioned) {
        say("anti-rollback floor not provisioned yet; image security version " + security);
        return;
    }
    if (args.security_version < reading->floor) {
        reboot_now("image " + args.version + " has security version " + security +
                   ", below this machine's anti-rollback floor " + std::to_string(reading->floor) +
                   ": it is older than an image already blessed here");
    }
    say("anti-rollback floor " + std::to_string(reading->floor) + ", image security version " + security);
}

[[noreturn]] void boot() {
    must_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
    must_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    must_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (initrd::load_modules("/lib/modules", say) != 0) reboot_now("a kernel module did not load");

    auto command_line = read_file_bounded("/proc/cmdline", 8192);
    if (!command_line) reboot_now(command_line.error().message);
    auto args = initrd::parse_boot_args(*command_line);
    if (!args) reboot_now(args.error().message);
    say("image " + args->version + ", verity root hash " + hex_encode(args->root_hash));
    check_floor(*args);

    // Disks appear while the virtio (or other) drivers probe: look again until they do.
    const std::uint64_t deadline = now_ms() + kDiskWaitMs;
    Result<initrd::Found> found = fail(ErrorCode::not_found, "not looked yet");
    for (;;) {
        found = initrd::find_partitions("/sys", "/dev", initrd::root_partition_uuid(args->root_hash),
                                        initrd::verity_partition_uuid(args->root_hash));
        if (found || found.error().code != ErrorCode::not_found || now_ms() > deadline) break;
        timespec pause{0, 50L * 1000 * 1000};
        ::nanosleep(&pause, nullptr);
    }
    if (!found) reboot_now(found.error().message);
    say("root " + found->root + ", verity " + found->verity);

    // The superblock is not trusted: a wrong one only gives a tree whose root does not match the
    // hash from the signed command line, and the kernel refuses every block.
    const UniqueFd verity_fd(::open(found->verity.c_str(), O_RDONLY | O_CLOEXEC));
    if (!verity_fd.valid()) reboot_now(Error::from_errno(errno, "opening " + found->verity).message);
    std::string header(verity::kSuperblockBytes, '\0');
    if (::pread(verity_fd.get(), header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) {
        reboot_now("cannot read the verity superblock");
    }
    auto superblock = verity::parse_superblock(header);
    if (!superblock) reboot_now(superblock.error().message);
    const std::size_t digest = superblock->parameters.algorithm == verity::Algorithm::sha512 ? 64 : 32;
    if (args->root_hash.size() != digest) reboot_now("the root hash does not fit the verity algorithm");
    auto root_bytes = device_bytes(found->root);
    const std::uint64_t data_bytes = superblock->data_blocks * superblock->parameters.data_block_size;
    if (!root_bytes || data_bytes > *root_bytes) reboot_now("the verity data is larger than the root partition");

    const verity::HashTree tree = verity::layout_of(*superblock, args->root_hash);
    // Corruption found at any time later restarts the machine rather than handing out errors.
    const std::string table =
        verity::verity_table(found->root, found->verity, tree, superblock->parameters) + " 1 restart_on_corruption";
    auto device =
        devmapper::create_read_only_device("/dev/mapper/control", "bulkhead-root", {data_bytes / 512, "verity", table});
    if (!device) reboot_now(device.error().message);
    must_mount(device->c_str(), kNewRoot, "erofs", MS_RDONLY | MS_NOSUID | MS_NODEV);
    say("verified root " + *device + " mounted read-only");

    // Into the new root: the kernel file systems move along, the initramfs stays behind.
    for (const char* kept : {"/dev", "/proc", "/sys"}) {
        const std::string target = std::string(kNewRoot) + kept;
        if (::mount(kept, target.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
            reboot_now(Error::from_errno(errno, std::string("moving ") + kept).message);
        }
    }
    if (::chdir(kNewRoot) != 0 || ::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0 || ::chroot(".") != 0 ||
        ::chdir("/") != 0) {
        reboot_now(Error::from_errno(errno, "switching to the verified root").message);
    }
    const std::string version = "BULKHEAD_IMAGE_VERSION=" + args->version;
    const std::array<char*, 2> argv = {const_cast<char*>(kInit), nullptr};
    const std::array<char*, 2> envp = {const_cast<char*>(version.c_str()), nullptr};
    ::execve(kInit, argv.data(), envp.data());
    reboot_now(Error::from_errno(errno, std::string("starting ") + kInit).message);
}

}  // namespace

int main() {
    if (::getpid() != 1) {
        say("runs only as PID 1 of the system's initramfs");
        return 2;
    }
    try {
        boot();
    } catch (const std::exception& unexpected) {
        reboot_now(std::string("internal error: ") + unexpected.what());
    }
}
