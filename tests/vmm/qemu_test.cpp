#include <algorithm>

#include <gtest/gtest.h>

#include "vmm/backend.hpp"

namespace bulkhead::vmm {
namespace {

VmSpec spec() {
    VmSpec vm;
    vm.name = "hello";
    vm.kernel = "/vm/vmlinuz";
    vm.initrd = "/vm/initrd";
    vm.root_image = "/vm/root.erofs";
    vm.state_image = "/vm/state.img";
    vm.console_log = "/vm/console.log";
    vm.qmp_socket = "/vm/qmp.sock";
    vm.control_socket = "/vm/control.sock";
    return vm;
}

// The value following `option` (the first occurrence after `from`), or "" when absent.
std::string value_of(const std::vector<std::string>& argv, const std::string& option, std::size_t from = 0) {
    const auto found = std::find(argv.begin() + static_cast<std::ptrdiff_t>(from), argv.end(), option);
    return found == argv.end() || found + 1 == argv.end() ? std::string() : *(found + 1);
}

std::vector<std::string> values_of(const std::vector<std::string>& argv, const std::string& option) {
    std::vector<std::string> values;
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == option) values.push_back(argv[i + 1]);
    }
    return values;
}

TEST(QemuBackend, DeniesEverythingNotAskedFor) {
    const auto backend = make_qemu_backend();
    auto argv = backend->command_line(spec());
    ASSERT_TRUE(argv) << argv.error().message;
    EXPECT_EQ(argv->front(), "/usr/bin/qemu-system-x86_64");
    for (const std::string flag : {"-nodefaults", "-no-user-config", "-no-reboot"}) {
        EXPECT_NE(std::find(argv->begin(), argv->end(), flag), argv->end()) << flag;
    }
    EXPECT_EQ(value_of(*argv, "-nic"), "none");
    EXPECT_EQ(value_of(*argv, "-display"), "none");
    EXPECT_EQ(value_of(*argv, "-monitor"), "none");
    EXPECT_EQ(value_of(*argv, "-sandbox"), "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    EXPECT_EQ(value_of(*argv, "-machine"), "q35,usb=off,vmport=off");
    for (const std::string& arg : *argv) {
        EXPECT_EQ(arg.find("usb-"), std::string::npos) << arg;
        EXPECT_EQ(arg.find("netdev"), std::string::npos) << arg;
        EXPECT_EQ(arg.find("audio"), std::string::npos) << arg;
        EXPECT_EQ(arg.find("vga"), std::string::npos) << arg;
    }
}

TEST(QemuBackend, DisksConsoleAndControl) {
    auto argv = make_qemu_backend()->command_line(spec());
    ASSERT_TRUE(argv);
    const auto drives = values_of(*argv, "-drive");
    ASSERT_EQ(drives.size(), 2U);
    EXPECT_EQ(drives[0], "file=/vm/root.erofs,if=none,id=root,format=raw,readonly=on");
    EXPECT_EQ(drives[1], "file=/vm/state.img,if=none,id=state,format=raw");
    const auto devices = values_of(*argv, "-device");
    EXPECT_NE(std::find(devices.begin(), devices.end(), "virtserialport,chardev=control,name=bulkhead.ctl"),
              devices.end());
    const auto chardevs = values_of(*argv, "-chardev");
    EXPECT_NE(std::find(chardevs.begin(), chardevs.end(), "file,id=console,path=/vm/console.log"), chardevs.end());
    EXPECT_NE(std::find(chardevs.begin(), chardevs.end(), "socket,id=control,path=/vm/control.sock,server=on,wait=off"),
              chardevs.end());
    EXPECT_EQ(value_of(*argv, "-qmp"), "unix:/vm/qmp.sock,server=on,wait=off");
    EXPECT_EQ(value_of(*argv, "-append"), "console=ttyS0 panic=-1 no_timer_check quiet");
    EXPECT_EQ(value_of(*argv, "-object"), "rng-random,id=entropy,filename=/dev/urandom");
    EXPECT_NE(std::find(devices.begin(), devices.end(), "virtio-rng-pci,rng=entropy"), devices.end());
}

TEST(QemuBackend, AcceleratorMemoryAndNoStateDisk) {
    VmSpec vm = spec();
    vm.accelerator = Accelerator::kvm;
    vm.memory_mib = 512;
    vm.vcpus = 2;
    vm.state_image.reset();
    vm.kernel_args = {"bulkhead.app=hello"};
    auto argv = make_qemu_backend()->command_line(vm);
    ASSERT_TRUE(argv);
    EXPECT_EQ(value_of(*argv, "-accel"), "kvm");
    EXPECT_EQ(value_of(*argv, "-cpu"), "host");
    EXPECT_EQ(value_of(*argv, "-m"), "512");
    EXPECT_EQ(value_of(*argv, "-smp"), "2");
    EXPECT_EQ(values_of(*argv, "-drive").size(), 1U);
    EXPECT_EQ(value_of(*argv, "-append"), "console=ttyS0 panic=-1 no_timer_check quiet bulkhead.app=hello");
    vm.accelerator = Accelerator::tcg;
    EXPECT_EQ(value_of(*make_qemu_backend()->command_line(vm), "-cpu"), "max");
    EXPECT_EQ(value_of(*make_qemu_backend()->command_line(vm), "-accel"), "tcg,tb-size=32");
}

TEST(QemuBackend, CommasInPathsCannotAddOptions) {
    VmSpec vm = spec();
    vm.root_image = "/vm/a,readonly=off";
    auto argv = make_qemu_backend()->command_line(vm);
    ASSERT_TRUE(argv);
    EXPECT_EQ(values_of(*argv, "-drive")[0], "file=/vm/a,,readonly=off,if=none,id=root,format=raw,readonly=on");
}

TEST(QemuBackend, BadSpecsAreRefused) {
    const auto backend = make_qemu_backend();
    std::vector<std::pair<std::string, VmSpec>> cases;
    auto with = [&](const std::string& what, auto change) {
        VmSpec vm = spec();
        change(vm);
        cases.emplace_back(what, vm);
    };
    with("relative kernel", [](VmSpec& vm) { vm.kernel = "vmlinuz"; });
    with("empty root", [](VmSpec& vm) { vm.root_image.clear(); });
    with("newline in a path", [](VmSpec& vm) { vm.console_log = "/vm/log\n-x"; });
    with("tiny memory", [](VmSpec& vm) { vm.memory_mib = 16; });
    with("no vcpus", [](VmSpec& vm) { vm.vcpus = 0; });
    with("kernel arg with a space", [](VmSpec& vm) { vm.kernel_args = {"a b"}; });
    with("kernel arg with a quote", [](VmSpec& vm) { vm.kernel_args = {"init=\"/x\""}; });
    with("no name", [](VmSpec& vm) { vm.name.clear(); });
    for (const auto& [what, vm] : cases) EXPECT_FALSE(backend->command_line(vm)) << what;
}

}  // namespace
}  // namespace bulkhead::vmm
