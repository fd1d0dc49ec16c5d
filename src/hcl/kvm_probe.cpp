#include "hcl/kvm_probe.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::hcl {

namespace {

// Real-mode guest code, loaded at kGuestAddress:
//   mov al, 0x2a ; out 0x10, al ; add al, 1 ; out 0x10, al ; hlt
// The second value is computed by the guest, so a passing probe shows instructions executed.
constexpr std::array<std::uint8_t, 9> kGuestCode = {0xb0, 0x2a, 0xe6, 0x10, 0x04, 0x01, 0xe6, 0x10, 0xf4};
constexpr std::uint64_t kGuestAddress = 0x1000;
constexpr std::uint64_t kGuestMemoryBytes = 0x1000;
constexpr std::uint16_t kProbePort = 0x10;
constexpr std::uint8_t kFirstValue = 0x2a;
constexpr std::uint32_t kMaxCpuidEntries = 4096;
constexpr std::uint32_t kMaxFeatureMsrs = 1024;

// Debian 12's <linux/kvm.h> declares kvm_cpuid2, kvm_msr_list and kvm_msrs with
// __DECLARE_FLEX_ARRAY, which under C++ adds an empty member: sizeof grows and the ioctl
// numbers derived from it encode a size the kernel rejects (EINVAL). The requests are spelled
// out here with the C layout of each header; the values match the C definitions
// (0xc008ae05, 0x4008ae90, 0xc004ae0a, 0xc008ae88, 0x4008ae89).
struct CpuidHeader {
    std::uint32_t nent;
    std::uint32_t padding;
};  // followed by nent kvm_cpuid_entry2
struct MsrListHeader {
    std::uint32_t nmsrs;
};  // followed by nmsrs indices
struct MsrsHeader {
    std::uint32_t nmsrs;
    std::uint32_t pad;
};  // followed by nmsrs kvm_msr_entry
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
constexpr unsigned long kGetMsrFeatureIndexList = _IOWR(KVMIO, 0x0a, MsrListHeader);
constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
static_assert(kGetSupportedCpuid == 0xc008ae05UL && kSetCpuid2 == 0x4008ae90UL &&
              kGetMsrFeatureIndexList == 0xc004ae0aUL && kGetMsrs == 0xc008ae88UL && kSetMsrs == 0x4008ae89UL);

enum class Stage : std::int32_t {
    open_device,
    api_version,
    create_vm,
    guest_memory,
    create_vcpu,
    guest_cpuid,
    feature_msrs,
    map_vcpu,
    set_registers,
    first_exit,
    second_exit,
    halt_exit,
    done,
};

const char* stage_description(Stage stage) {
    switch (stage) {
        case Stage::open_device: return "opening the device";
        case Stage::api_version: return "KVM_GET_API_VERSION";
        case Stage::create_vm: return "KVM_CREATE_VM";
        case Stage::guest_memory: return "KVM_SET_USER_MEMORY_REGION";
        case Stage::create_vcpu: return "KVM_CREATE_VCPU";
        case Stage::guest_cpuid: return "giving the vCPU the CPUID that KVM reports as supported";
        case Stage::feature_msrs: return "programming the vCPU's feature MSRs with the values KVM reports";
        case Stage::map_vcpu: return "mapping the vCPU run area";
        case Stage::set_registers: return "setting vCPU registers";
        case Stage::first_exit: return "first KVM_RUN (expected an I/O exit)";
        case Stage::second_exit: return "second KVM_RUN (expected an I/O exit)";
        case Stage::halt_exit: return "third KVM_RUN (expected HLT)";
        case Stage::done: return "done";
    }
    return "unknown stage";
}

// Sent from the probe child to the parent in one write (well under PIPE_BUF, so atomic).
struct ProbeMessage {
    Stage stage = Stage::open_device;
    std::int32_t error_number = 0;  // errno of a failed call, 0 if the call worked
    std::uint32_t exit_reason = 0;  // KVM exit reason when a run ended unexpectedly
    std::uint32_t detail = 0;       // suberror, entry failure reason, port, or API version
    std::uint32_t value = 0;        // the byte the guest wrote, for I/O exits
    std::uint64_t msr_value = 0;    // the value KVM reported for a feature MSR it then refused
};

const char* exit_reason_name(std::uint32_t reason) {
    switch (reason) {
        case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN";
        case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION";
        case KVM_EXIT_IO: return "KVM_EXIT_IO";
        case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
        case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
        case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN (triple fault)";
        case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
        case KVM_EXIT_INTR: return "KVM_EXIT_INTR";
        case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
        default: return "another KVM exit";
    }
}

[[noreturn]] void send_and_exit(int fd, const ProbeMessage& message) {
    const ssize_t ignored = ::write(fd, &message, sizeof message);
    (void)ignored;  // the parent treats a short or missing message as a failed probe
    ::_exit(0);
}

int ioctl_retrying(int fd, unsigned long request, void* argument) {
    for (;;) {
        const int result = ::ioctl(fd, request, argument);
        if (result >= 0 || errno != EINTR) return result;
    }
}

// Runs the vCPU once and checks the exit against what the guest code should do next.
bool expect_exit(int vcpu, kvm_run* run, std::size_t run_size, Stage stage, std::uint32_t expected_reason,
                 std::uint8_t expected_value, ProbeMessage& message) {
    message.stage = stage;
    if (ioctl_retrying(vcpu, KVM_RUN, nullptr) < 0) {
        message.error_number = errno;
        return false;
    }
    message.exit_reason = run->exit_reason;
    if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) message.detail = run->internal.suberror;
    if (run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
        message.detail = static_cast<std::uint32_t>(run->fail_entry.hardware_entry_failure_reason);
    }
    if (run->exit_reason != expected_reason) return false;
    if (expected_reason != KVM_EXIT_IO) return true;

    message.detail = run->io.port;
    if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != kProbePort || run->io.size != 1 || run->io.count != 1 ||
        run->io.data_offset >= run_size) {
        return false;
    }
    const auto* data = reinterpret_cast<const std::uint8_t*>(run) + run->io.data_offset;
    message.value = *data;
    return *data == expected_value;
}

// Hands the vCPU the CPUID that KVM itself reports as supported, as every VMM does first.
bool set_supported_cpuid(int kvm, int vcpu, ProbeMessage& message) {
    message.stage = Stage::guest_cpuid;
    for (std::uint32_t entries = 128; entries <= kMaxCpuidEntries; entries *= 2) {
        std::vector<std::uint32_t> buffer((sizeof(CpuidHeader) + entries * sizeof(kvm_cpuid_entry2)) / 4);
        auto* header = reinterpret_cast<CpuidHeader*>(buffer.data());
        header->nent = entries;
        if (ioctl_retrying(kvm, kGetSupportedCpuid, header) < 0) {
            if (errno == E2BIG) continue;
            message.error_number = errno;
            return false;
        }
        if (ioctl_retrying(vcpu, kSetCpuid2, header) < 0) {
            message.error_number = errno;
            return false;
        }
        return true;
    }
    message.error_number = E2BIG;
    return false;
}

// A VMM programs the vCPU's feature MSRs (ARCH_CAPABILITIES, PERF_CAPABILITIES, VMX
// capabilities, ...) with the values KVM reports for the host. A KVM that refuses its own
// values cannot start an ordinary guest: this is how QEMU fails on paravirtual KVM variants.
bool program_feature_msrs(int kvm, int vcpu, ProbeMessage& message) {
    message.stage = Stage::feature_msrs;
    if (::ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GET_MSR_FEATURES) <= 0) return true;
    std::vector<std::uint32_t> list_buffer(1 + kMaxFeatureMsrs);
    auto* list = reinterpret_cast<MsrListHeader*>(list_buffer.data());
    list->nmsrs = kMaxFeatureMsrs;
    if (ioctl_retrying(kvm, kGetMsrFeatureIndexList, list) < 0) {
        message.error_number = errno;
        return false;
    }
    const std::uint32_t count = std::min(list->nmsrs, kMaxFeatureMsrs);
    for (std::uint32_t i = 0; i < count; ++i) {
        struct {
            MsrsHeader header;
            kvm_msr_entry entry;
        } one{};
        one.header.nmsrs = 1;
        one.entry.index = list_buffer[1 + i];
        message.detail = one.entry.index;
        if (ioctl_retrying(kvm, kGetMsrs, &one) != 1) {
            message.error_number = errno;
            return false;
        }
        message.msr_value = one.entry.data;
        if (ioctl_retrying(vcpu, kSetMsrs, &one) != 1) return false;
    }
    message.detail = 0;
    message.msr_value = 0;
    return true;
}

[[noreturn]] void run_probe_child(int report_fd, const char* device) {
    ProbeMessage message;
    const int kvm = ::open(device, O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }
    message.stage = Stage::api_version;
    const int api = ::ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        message.error_number = api < 0 ? errno : 0;
        message.detail = static_cast<std::uint32_t>(api);
        send_and_exit(report_fd, message);
    }
    message.stage = Stage::create_vm;
    const int vm = ::ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }
    message.stage = Stage::guest_memory;
    void* memory =
        ::mmap(nullptr, kGuestMemoryBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }
    std::memcpy(memory, kGuestCode.data(), kGuestCode.size());
    kvm_userspace_memory_region region{};
    region.slot = 0;
    region.guest_phys_addr = kGuestAddress;
    region.memory_size = kGuestMemoryBytes;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(memory);
    if (ioctl_retrying(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }
    message.stage = Stage::create_vcpu;
    const int vcpu = ::ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }
    if (!set_supported_cpuid(kvm, vcpu, message) || !program_feature_msrs(kvm, vcpu, message)) {
        send_and_exit(report_fd, message);
    }
    message.stage = Stage::map_vcpu;
    const int run_size = ::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < static_cast<int>(sizeof(kvm_run))) {
        message.error_number = run_size < 0 ? errno : 0;
        send_and_exit(report_fd, message);
    }
    void* run_area = ::mmap(nullptr, static_cast<std::size_t>(run_size), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run_area == MAP_FAILED) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }
    auto* run = static_cast<kvm_run*>(run_area);

    message.stage = Stage::set_registers;
    kvm_sregs sregs{};
    if (ioctl_retrying(vcpu, KVM_GET_SREGS, &sregs) < 0) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl_retrying(vcpu, KVM_SET_SREGS, &sregs) < 0) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }
    kvm_regs regs{};
    regs.rip = kGuestAddress;
    regs.rflags = 0x2;  // bit 1 is reserved and must be set
    if (ioctl_retrying(vcpu, KVM_SET_REGS, &regs) < 0) {
        message.error_number = errno;
        send_and_exit(report_fd, message);
    }

    const auto size = static_cast<std::size_t>(run_size);
    if (!expect_exit(vcpu, run, size, Stage::first_exit, KVM_EXIT_IO, kFirstValue, message) ||
        !expect_exit(vcpu, run, size, Stage::second_exit, KVM_EXIT_IO, kFirstValue + 1, message) ||
        !expect_exit(vcpu, run, size, Stage::halt_exit, KVM_EXIT_HLT, 0, message)) {
        send_and_exit(report_fd, message);
    }
    message = ProbeMessage{};
    message.stage = Stage::done;
    send_and_exit(report_fd, message);
}

std::string errno_text(int error_number) { return std::string(errno_description(error_number)); }

KvmProbeOutcome interpret(const std::string& device, const ProbeMessage& message) {
    KvmProbeOutcome outcome;
    const std::string at = std::string("failed at ") + stage_description(message.stage);
    if (message.stage == Stage::done) {
        outcome.status = Status::pass;
        outcome.summary = "KVM ran a test guest";
        outcome.evidence.push_back(device +
                                   ": real-mode guest wrote 0x2a and 0x2b to port 0x10, then halted, as expected");
        return outcome;
    }
    if (message.stage == Stage::open_device && (message.error_number == EACCES || message.error_number == EPERM)) {
        outcome.status = Status::unknown;
        outcome.summary = "not allowed to open " + device;
        outcome.evidence.push_back(device + ": " + errno_text(message.error_number));
        outcome.remedy = "run the check as root, or as a member of the group that owns " + device;
        return outcome;
    }
    outcome.status = Status::fail;
    outcome.summary = device + " is present but cannot run an ordinary guest";
    std::string detail = device + ": " + at;
    if (message.error_number != 0) {
        detail += ": " + errno_text(message.error_number);
    } else if (message.stage == Stage::feature_msrs) {
        detail += ": KVM refused MSR " + hex(message.detail) + " = " + hex(message.msr_value) +
                  ", the value it reported itself";
    } else if (message.stage == Stage::api_version) {
        detail += ": API version " + std::to_string(static_cast<std::int32_t>(message.detail)) + ", expected " +
                  std::to_string(KVM_API_VERSION);
    } else if (message.stage >= Stage::first_exit) {
        detail += std::string(": got ") + exit_reason_name(message.exit_reason) + " (" +
                  std::to_string(message.exit_reason) + ")";
        if (message.exit_reason == KVM_EXIT_INTERNAL_ERROR) {
            detail += ", suberror " + std::to_string(message.detail) +
                      (message.detail == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)" : "");
        } else if (message.exit_reason == KVM_EXIT_FAIL_ENTRY) {
            detail += ", hardware entry failure reason " + hex(message.detail);
        } else if (message.exit_reason == KVM_EXIT_IO) {
            detail += " on port " + hex(message.detail) + " with value " + hex(message.value);
        }
    }
    outcome.evidence.push_back(detail);
    outcome.remedy =
        "KVM needs VT-x/AMD-V with EPT/NPT; on a virtual machine, enable nested virtualization in the outer "
        "hypervisor";
    return outcome;
}

}  // namespace

KvmProbeOutcome kvm_not_probed(const std::string& reason) {
    KvmProbeOutcome outcome;
    outcome.status = Status::unknown;
    outcome.summary = "not probed";
    outcome.evidence.push_back(reason);
    outcome.remedy = "run `bulkhead hcl` without --root on the machine itself";
    return outcome;
}

KvmProbeOutcome probe_kvm(const std::string& device_path, std::chrono::milliseconds timeout) {
    KvmProbeOutcome outcome;
    struct stat info {};
    if (::stat(device_path.c_str(), &info) != 0) {
        const int stat_errno = errno;
        outcome.status = stat_errno == ENOENT ? Status::fail : Status::unknown;
        outcome.summary = stat_errno == ENOENT ? "no KVM device" : "cannot inspect the KVM device";
        outcome.evidence.push_back(device_path + ": " + errno_text(stat_errno));
        outcome.remedy = "load the kvm_intel or kvm_amd module; it needs VT-x/AMD-V enabled in firmware setup";
        return outcome;
    }
    if (!S_ISCHR(info.st_mode)) {
        outcome.status = Status::fail;
        outcome.summary = device_path + " is not a character device";
        outcome.evidence.push_back(device_path + ": not a character device");
        return outcome;
    }

    std::array<int, 2> pipe_fds{};
    if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
        return kvm_not_probed(Error::from_errno(errno, "creating the probe pipe").message);
    }
    UniqueFd read_end(pipe_fds[0]);
    UniqueFd write_end(pipe_fds[1]);

    const pid_t child = ::fork();
    if (child < 0) return kvm_not_probed(Error::from_errno(errno, "starting the probe process").message);
    if (child == 0) {
        read_end.reset();
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        const rlimit no_core{0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        run_probe_child(write_end.get(), device_path.c_str());
    }
    write_end.reset();

    ProbeMessage message;
    bool received = false;
    bool timed_out = false;
    pollfd waiting{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(timeout.count()));
    if (ready == 0) {
        timed_out = true;
        ::kill(child, SIGKILL);
    } else if (ready > 0) {
        const ssize_t got = ::read(read_end.get(), &message, sizeof message);
        received = got == static_cast<ssize_t>(sizeof message);
    }
    int wait_status = 0;
    while (::waitpid(child, &wait_status, 0) < 0 && errno == EINTR) {
    }

    if (timed_out) {
        outcome.status = Status::fail;
        outcome.summary = device_path + " is present but a test guest did not finish";
        outcome.evidence.push_back(device_path + ": the test guest did not finish within " +
                                   std::to_string(timeout.count()) + " ms (KVM_RUN hung)");
        return outcome;
    }
    if (!received) {
        outcome.status = Status::fail;
        outcome.summary = device_path + " is present but the probe process failed";
        outcome.evidence.push_back(WIFSIGNALED(wait_status) ? device_path + ": probe process killed by signal " +
                                                                  std::to_string(WTERMSIG(wait_status))
                                                            : device_path + ": probe process exited without a result");
        return outcome;
    }
    return interpret(device_path, message);
}

}  // namespace bulkhead::hcl
