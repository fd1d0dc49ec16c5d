#include <algorithm>

#include "vmm/backend.hpp"

namespace bulkhead::vmm {

namespace {

// Kernel command line of every app VM: console on the first serial port, reboot (which
// -no-reboot turns into a clean exit) on panic, and no_timer_check, without which loaded TCG
// guests can panic with "IO-APIC + timer doesn't work".
constexpr std::string_view kBaseKernelArgs = "console=ttyS0 panic=-1 no_timer_check quiet";

// QEMU option values are comma-separated; a comma inside a value is written twice.
std::string escaped(std::string_view value) {
    std::string out;
    for (const char c : value) {
        out.push_back(c);
        if (c == ',') out.push_back(',');
    }
    return out;
}

class QemuBackend final : public Backend {
public:
    explicit QemuBackend(std::string executable) : executable_(std::move(executable)) {}

    [[nodiscard]] std::string_view name() const override { return "qemu"; }

    [[nodiscard]] Result<std::vector<std::string>> command_line(const VmSpec& spec) const override {
        if (auto checked = check_spec(spec); !checked) return fail(checked.error());
        const bool kvm = spec.accelerator == Accelerator::kvm;
        std::string append(kBaseKernelArgs);
        for (const std::string& arg : spec.kernel_args) append += " " + arg;
        std::vector<std::string> argv = {
            executable_,
            "-name",
            "guest=" + escaped(spec.name) + ",debug-threads=off",
            // Nothing the user did not ask for: no default devices, no config files, no
            // network card (QEMU adds one unless told), no monitor, no display.
            "-nodefaults",
            "-no-user-config",
            "-nic",
            "none",
            "-monitor",
            "none",
            "-display",
            "none",
            "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
            "-machine",
            "q35,usb=off,vmport=off",
            "-accel",
            // Under TCG, QEMU 7.2 reserves a 1 GiB translation cache and fills it as it goes;
            // 32 MiB keeps an idle VM's own memory small at little cost to an app VM's speed.
            kvm ? "kvm" : "tcg,tb-size=32",
            "-cpu",
            kvm ? "host" : "max",
            "-m",
            std::to_string(spec.memory_mib),
            "-smp",
            std::to_string(spec.vcpus),
            "-kernel",
            spec.kernel,
            "-initrd",
            spec.initrd,
            "-append",
            append,
            // A guest reboot (also a panic) ends QEMU instead of restarting the VM.
            "-no-reboot",
            "-drive",
            "file=" + escaped(spec.root_image) + ",if=none,id=root,format=raw,readonly=on",
            "-device",
            "virtio-blk-pci,drive=root,serial=bulkhead-root",
        };
        if (spec.state_image) {
            argv.insert(argv.end(), {"-drive", "file=" + escaped(*spec.state_image) + ",if=none,id=state,format=raw",
                                     "-device", "virtio-blk-pci,drive=state,serial=bulkhead-state"});
        }
        if (!spec.shares.empty()) {
            // vhost-user needs the guest's RAM in memory the file server can map.
            argv.insert(
                argv.end(),
                {"-object", "memory-backend-memfd,id=ram,share=on,size=" + std::to_string(spec.memory_mib) + "M",
                 "-numa", "node,memdev=ram"});
            for (std::size_t i = 0; i < spec.shares.size(); ++i) {
                const std::string id = "files" + std::to_string(i);
                argv.insert(argv.end(), {"-chardev", "socket,id=" + id + ",path=" + escaped(spec.shares[i].socket),
                                         "-device", "vhost-user-fs-pci,chardev=" + id + ",tag=" + spec.shares[i].tag});
            }
        }
        if (spec.network) {
            // The tap is the manager's; QEMU only reads and writes it (no script, no helper).
            argv.insert(argv.end(), {"-netdev", "tap,id=net0,fd=" + std::to_string(spec.network->tap_fd), "-device",
                                     "virtio-net-pci,netdev=net0,mac=" + spec.network->mac});
        }
        argv.insert(argv.end(), {
                                    "-chardev",
                                    "file,id=console,path=" + escaped(spec.console_log),
                                    "-serial",
                                    "chardev:console",
                                    "-chardev",
                                    "socket,id=control,path=" + escaped(spec.control_socket) + ",server=on,wait=off",
                                    "-device",
                                    "virtio-serial-pci,id=control-bus",
                                    "-device",
                                    "virtserialport,chardev=control,name=bulkhead.ctl",
                                    "-qmp",
                                    "unix:" + escaped(spec.qmp_socket) + ",server=on,wait=off",
                                    // The guest's entropy from the host's kernel, not only its
                                    // CPU's (the jail binds /dev/urandom for this).
                                    "-object",
                                    "rng-random,id=entropy,filename=/dev/urandom",
                                    "-device",
                                    "virtio-rng-pci,rng=entropy",
                                });
        return argv;
    }

private:
    std::string executable_;
};

}  // namespace

std::unique_ptr<Backend> make_qemu_backend(std::string executable) {
    return std::make_unique<QemuBackend>(std::move(executable));
}

}  // namespace bulkhead::vmm
