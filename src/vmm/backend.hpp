// The VMM behind an interface: policy code (the manager, the jailer) describes a VM with a
// VmSpec and asks a Backend for the program and arguments that run it. QEMU is the first
// backend; cloud-hypervisor, crosvm or an seL4 VMM are further implementations of the same
// interface, with no change to policy code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::vmm {

enum class Accelerator { kvm, tcg };
std::string_view accelerator_name(Accelerator accelerator) noexcept;

// A network device of the VM: the VMM is handed an open tap descriptor (it may open no device
// itself) at this number.
struct NetworkDevice {
    int tap_fd = 3;
    std::string mac;  // "xx:xx:xx:xx:xx:xx", lower-case hex
};

// A host directory shared into the VM: a vhost-user-fs server (virtiofsd) started by the
// manager listens on `socket`; the guest mounts it by `tag`. Sharing memory with that server
// puts the guest's RAM in a shared memfd.
struct SharedDirectory {
    std::string socket;
    std::string tag;  // [a-z0-9-], at most 36 bytes (virtio-fs's limit)
};

// Everything about one VM that a backend needs. Paths are as the VMM will see them (inside its
// jail). The VM gets no network device, no USB, no sound and no display: those come only with
// grants (issue 6), as file descriptors handed over by the manager.
struct VmSpec {
    std::string name;  // the app's name
    std::string kernel;
    std::string initrd;
    std::vector<std::string> kernel_args;    // added to the backend's own (console, panic, ...)
    std::string root_image;                  // attached read-only
    std::optional<std::string> state_image;  // attached writable
    std::uint32_t memory_mib = 256;
    std::uint32_t vcpus = 1;
    Accelerator accelerator = Accelerator::tcg;
    std::string console_log;               // the guest's serial console is written here
    std::string qmp_socket;                // lifecycle control (the VMM listens)
    std::string control_socket;            // the virtio-serial control port (the VMM listens)
    std::optional<NetworkDevice> network;  // only with a network or expose-port grant
    std::vector<SharedDirectory> shares;   // only with files grants
};

// Refuses specs no backend should run: missing paths, control characters or characters that
// would split a kernel command line, sizes out of range.
Result<void> check_spec(const VmSpec& spec);

class Backend {
public:
    Backend() = default;
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;
    Backend(Backend&&) = delete;
    Backend& operator=(Backend&&) = delete;
    virtual ~Backend() = default;

    [[nodiscard]] virtual std::string_view name() const = 0;
    // argv[0] is the program to exec (an absolute path); the rest are its arguments.
    [[nodiscard]] virtual Result<std::vector<std::string>> command_line(const VmSpec& spec) const = 0;
};

// QEMU's x86-64 system emulator (Debian's qemu-system-x86): q35 with virtio-pci devices.
std::unique_ptr<Backend> make_qemu_backend(std::string executable = "/usr/bin/qemu-system-x86_64");

}  // namespace bulkhead::vmm
