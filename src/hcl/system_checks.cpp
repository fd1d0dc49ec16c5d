#include "hcl/system_checks.hpp"

#include <algorithm>

#include "hcl/acpi_tables.hpp"
#include "hcl/cpuinfo.hpp"

namespace bulkhead::hcl {

namespace {

constexpr std::size_t kMaxSmallFileBytes = 4096;
constexpr const char* kGlobalVariableGuid = "8be4df61-93ca-11d2-aa0d-00e098032b8c";

Check make_check(std::string id, std::string title, bool required = true) {
    Check check;
    check.id = std::move(id);
    check.title = std::move(title);
    check.required = required;
    return check;
}

void set(Check& check, Status status, std::string summary, std::string evidence, std::string remedy = {}) {
    check.status = status;
    check.summary = std::move(summary);
    if (!evidence.empty()) check.evidence.push_back(std::move(evidence));
    check.remedy = std::move(remedy);
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

std::string trim_newline(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) text.pop_back();
    return text;
}

bool is_intel(const CpuInfo& cpu) { return cpu.vendor_id == "GenuineIntel"; }
bool is_amd(const CpuInfo& cpu) { return cpu.vendor_id == "AuthenticAMD" || cpu.vendor_id == "HygonGenuine"; }

std::string cpu_description(const CpuInfo& cpu) {
    std::string text = std::to_string(cpu.processor_count) + " processor" + (cpu.processor_count == 1 ? "" : "s");
    if (!cpu.vendor_id.empty()) text += ", vendor " + cpu.vendor_id;
    if (!cpu.model_name.empty()) text += ", model '" + cpu.model_name + "'";
    return text;
}

std::string firmware_virtualization_remedy(const CpuInfo& cpu) {
    if (cpu.has_flag("hypervisor")) {
        return "this is a virtual machine: enable nested virtualization in the outer hypervisor, or run on bare "
               "metal";
    }
    if (is_intel(cpu)) return "enable Intel Virtualization Technology (VT-x) in the firmware setup";
    if (is_amd(cpu)) return "enable SVM mode (AMD-V) in the firmware setup";
    return "enable hardware virtualization in the firmware setup";
}

std::vector<Check> cpu_checks(const RootedDir& root) {
    Check arch = make_check("cpu.x86_64", "x86-64 CPU");
    Check virt = make_check("cpu.virtualization", "VT-x or AMD-V");
    Check slat = make_check("cpu.slat", "Second-level address translation (EPT/NPT)");
    Check bare = make_check("host.bare_metal", "Running on bare metal", false);
    const std::string path = root.display("/proc/cpuinfo");

    auto text = root.read("/proc/cpuinfo", kMaxCpuinfoBytes);
    Result<CpuInfo> parsed = text ? parse_cpuinfo(*text) : Result<CpuInfo>(fail(text.error()));
    if (!parsed) {
        const std::string reason = (text ? path + ": " : std::string()) + parsed.error().message;
        for (Check* check : {&arch, &virt, &slat, &bare}) {
            set(*check, Status::unknown, "CPU information unavailable", reason,
                "make sure /proc is mounted and readable");
        }
        return {arch, virt, slat, bare};
    }
    const CpuInfo& cpu = *parsed;
    const std::string described = path + ": " + cpu_description(cpu);

    if (!cpu.has_flags_line) {
        set(arch, Status::fail, "not an x86 CPU", described + "; no x86 'flags' line",
            "Bulkhead runs on x86-64 machines only");
    } else if (!cpu.has_flag("lm")) {
        set(arch, Status::fail, "32-bit x86 CPU", described + "; no 'lm' (long mode) flag",
            "Bulkhead needs a 64-bit (x86-64) CPU");
    } else {
        set(arch, Status::pass, "64-bit x86 CPU", described + "; 'lm' (long mode) flag on every processor");
    }

    const bool vmx = cpu.has_flag("vmx");
    const bool svm = cpu.has_flag("svm");
    if (vmx || svm) {
        set(virt, Status::pass, vmx ? "Intel VT-x available" : "AMD-V available",
            path + ": '" + std::string(vmx ? "vmx" : "svm") + "' flag on every processor");
    } else {
        set(virt, Status::fail, "no hardware virtualization exposed",
            path + ": neither 'vmx' nor 'svm' flag (" + cpu_description(cpu) + ")",
            firmware_virtualization_remedy(cpu));
    }

    const bool ept = cpu.has_flag("ept") || cpu.has_vmx_flag("ept");
    const bool npt = cpu.has_flag("npt");
    if (!vmx && !svm) {
        set(slat, Status::fail, "unusable without VT-x or AMD-V",
            path + ": no 'vmx' or 'svm' flag, so EPT/NPT cannot be used" +
                ((ept || npt) ? "" : "; no 'ept' or 'npt' flag either"),
            firmware_virtualization_remedy(cpu));
    } else if (ept || npt) {
        set(slat, Status::pass, ept ? "Intel EPT available" : "AMD NPT available",
            path + ": '" + std::string(ept ? "ept" : "npt") + "' flag" +
                (ept && !cpu.has_flag("ept") ? " (in 'vmx flags')" : ""));
    } else {
        set(slat, Status::fail, "CPU has no EPT/NPT", path + ": no 'ept' or 'npt' flag",
            "Bulkhead needs a CPU with EPT (Intel, since 2008) or NPT (AMD, since 2007)");
    }

    if (cpu.has_flag("hypervisor")) {
        set(bare, Status::fail, "running inside a virtual machine", path + ": 'hypervisor' flag is set",
            "inside a VM, isolation depends on the outer hypervisor; install Bulkhead on bare metal");
    } else {
        set(bare, Status::pass, "no hypervisor detected", path + ": no 'hypervisor' flag");
    }
    return {arch, virt, slat, bare};
}

// The outcome of looking at one ACPI table that may describe an IOMMU.
struct TableLook {
    bool present = false;
    bool valid = false;
    std::string evidence;
};

template <typename Parsed, typename Describe>
TableLook look_at_table(const RootedDir& root, const std::string& relative, Result<Parsed> (*parse)(std::string_view),
                        Describe describe) {
    TableLook look;
    const std::string path = root.display(relative);
    if (auto exists = root.exists(relative); !exists) return look;
    look.present = true;
    auto bytes = root.read(relative, kMaxAcpiTableBytes);
    if (!bytes) {
        look.evidence = path + ": present; contents not readable (" + bytes.error().message + ")";
        look.valid = true;  // existence alone shows the firmware describes an IOMMU
        return look;
    }
    auto parsed = parse(*bytes);
    if (!parsed) {
        look.evidence = path + ": present but malformed: " + parsed.error().message;
        return look;
    }
    look.evidence = path + ": " + describe(*parsed);
    look.valid = true;
    return look;
}

Check iommu_present_check(const RootedDir& root) {
    Check check = make_check("iommu.present", "IOMMU described by firmware (VT-d / AMD-Vi)");
    const std::string tables = "/sys/firmware/acpi/tables";
    if (auto listed = root.list(tables); !listed) {
        set(check, Status::unknown, "ACPI tables not available", listed.error().message,
            "run on a machine with ACPI and sysfs mounted");
        return check;
    }
    const TableLook dmar = look_at_table(root, tables + "/DMAR", &parse_dmar, [](const DmarTable& table) {
        std::string text = "DMAR table from '" + table.header.oem_id + "' lists " +
                           std::to_string(table.remapping_units) + " DMA remapping unit(s), " +
                           std::to_string(table.host_address_width_bits) + "-bit host address width";
        text += table.interrupt_remapping ? ", interrupt remapping supported" : ", no interrupt remapping";
        return text;
    });
    const TableLook ivrs = look_at_table(root, tables + "/IVRS", &parse_ivrs, [](const IvrsTable& table) {
        return "IVRS table from '" + table.header.oem_id + "' lists " + std::to_string(table.iommu_units) +
               " IOMMU unit(s)";
    });
    for (const TableLook* look : {&dmar, &ivrs}) {
        if (!look->evidence.empty()) check.evidence.push_back(look->evidence);
    }
    if (!dmar.present && !ivrs.present) {
        set(check, Status::fail, "no IOMMU described",
            root.display(tables) + ": no DMAR (Intel VT-d) or IVRS (AMD-Vi) table",
            "enable VT-d / AMD-Vi (often called 'IOMMU') in the firmware setup; without it, devices given to "
            "a VM could read any memory");
        return check;
    }
    if (dmar.valid || ivrs.valid) {
        check.status = Status::pass;
        check.summary = dmar.valid ? "Intel VT-d described (DMAR)" : "AMD-Vi described (IVRS)";
        return check;
    }
    check.status = Status::fail;
    check.summary = "IOMMU table present but malformed";
    check.remedy = "update the firmware; the kernel will not trust a malformed IOMMU description";
    return check;
}

// Whether a sysfs class directory is missing because sysfs itself is absent (unknown) or
// because the kernel registered nothing of that class (a finding).
bool sysfs_classes_available(const RootedDir& root) { return root.exists("/sys/class").has_value(); }

Check iommu_enabled_check(const RootedDir& root) {
    Check check = make_check("iommu.enabled", "IOMMU enabled in the kernel");
    const std::string path = root.display("/sys/class/iommu");
    auto units = root.list("/sys/class/iommu");
    const std::string remedy =
        "enable VT-d / AMD-Vi in the firmware setup and boot with intel_iommu=on (Intel) or check that "
        "amd_iommu is not off (AMD)";
    if (!units) {
        if (units.error().code == ErrorCode::not_found && sysfs_classes_available(root)) {
            set(check, Status::fail, "no IOMMU active", path + ": absent, the kernel registered no IOMMU", remedy);
        } else {
            set(check, Status::unknown, "cannot tell whether an IOMMU is active", units.error().message,
                "run as root with /sys mounted");
        }
        return check;
    }
    if (units->empty()) {
        set(check, Status::fail, "no IOMMU active", path + ": empty, the kernel registered no IOMMU", remedy);
        return check;
    }
    set(check, Status::pass, std::to_string(units->size()) + " IOMMU unit(s) active", path + ": " + join(*units));
    return check;
}

Check tpm_check(const RootedDir& root) {
    Check check = make_check("tpm.version2", "TPM 2.0");
    const std::string class_dir = "/sys/class/tpm";
    const std::string remedy =
        "enable the TPM (often 'PTT' on Intel or 'fTPM' on AMD) in the firmware setup; Bulkhead needs TPM 2.0 "
        "for its anti-rollback counter";
    auto devices = root.list(class_dir);
    if (!devices) {
        if (devices.error().code == ErrorCode::not_found && sysfs_classes_available(root)) {
            set(check, Status::fail, "no TPM found", root.display(class_dir) + ": absent, no TPM device", remedy);
        } else {
            set(check, Status::unknown, "cannot tell whether a TPM is present", devices.error().message,
                "run with /sys mounted");
        }
        return check;
    }
    std::erase_if(*devices, [](const std::string& name) { return name.rfind("tpm", 0) != 0; });
    if (devices->empty()) {
        set(check, Status::fail, "no TPM found", root.display(class_dir) + ": no tpm devices", remedy);
        return check;
    }
    bool any_unknown = false;
    bool any_v1 = false;
    for (const std::string& device : *devices) {
        std::string version_file = class_dir;
        version_file += "/" + device + "/tpm_version_major";
        auto version = root.read(version_file, kMaxSmallFileBytes);
        if (!version) {
            std::string note = device + ": version unknown (";
            note += version.error().message;
            note += ")";
            check.evidence.push_back(std::move(note));
            any_unknown = true;
            continue;
        }
        const std::string major = trim_newline(*version);
        check.evidence.push_back(root.display(version_file) + ": " + major);
        if (major == "2") {
            check.status = Status::pass;
            check.summary = device + " is a TPM 2.0";
            return check;
        }
        if (major == "1") {
            any_v1 = true;
        } else {
            any_unknown = true;
        }
    }
    if (any_v1 && !any_unknown) {
        check.status = Status::fail;
        check.summary = "only a TPM 1.2 found";
        check.remedy = "Bulkhead needs TPM 2.0; many machines can switch the TPM to 2.0 mode in firmware setup";
    } else {
        check.status = Status::unknown;
        check.summary = "TPM present but its version is not reported";
        check.remedy = "use a kernel that reports tpm_version_major (Linux 5.6 or newer)";
    }
    return check;
}

Check uefi_check(const RootedDir& root) {
    Check check = make_check("firmware.uefi", "UEFI boot");
    if (root.exists("/sys/firmware/efi")) {
        set(check, Status::pass, "booted through UEFI", root.display("/sys/firmware/efi") + ": present");
    } else if (root.exists("/sys/firmware")) {
        set(check, Status::fail, "booted in legacy BIOS mode", root.display("/sys/firmware/efi") + ": absent",
            "switch the firmware to UEFI mode (disable CSM/legacy boot)");
    } else {
        set(check, Status::unknown, "firmware interface unknown", root.display("/sys/firmware") + ": absent",
            "run with /sys mounted");
    }
    return check;
}

Check secure_boot_check(const RootedDir& root, const Check& uefi) {
    Check check = make_check("firmware.secure_boot", "Secure Boot support");
    if (uefi.status != Status::pass) {
        set(check, uefi.status == Status::fail ? Status::fail : Status::unknown, "needs UEFI boot",
            "UEFI: " + uefi.summary, "switch the firmware to UEFI mode; Bulkhead boots only with Secure Boot");
        return check;
    }
    const std::string vars = "/sys/firmware/efi/efivars";
    if (auto listed = root.exists(vars); !listed) {
        set(check, Status::unknown, "EFI variables not available", listed.error().message,
            "mount efivarfs at /sys/firmware/efi/efivars");
        return check;
    }
    const std::string secure_boot = vars + "/SecureBoot-" + kGlobalVariableGuid;
    auto bytes = root.read(secure_boot, kMaxSmallFileBytes);
    if (!bytes) {
        if (bytes.error().code == ErrorCode::not_found) {
            set(check, Status::fail, "firmware has no Secure Boot", root.display(secure_boot) + ": absent",
                "Bulkhead boots only with Secure Boot under your own keys; this firmware does not offer it");
        } else {
            set(check, Status::unknown, "Secure Boot state unreadable", bytes.error().message);
        }
        return check;
    }
    auto enabled = parse_efi_boolean_variable(*bytes);
    if (!enabled) {
        set(check, Status::unknown, "Secure Boot state malformed",
            root.display(secure_boot) + ": " + enabled.error().message);
        return check;
    }
    check.evidence.push_back(root.display(secure_boot) + ": " + (*enabled ? "1 (enabled)" : "0 (disabled)"));
    auto setup_bytes = root.read(vars + "/SetupMode-" + kGlobalVariableGuid, kMaxSmallFileBytes);
    const Result<bool> setup_mode =
        setup_bytes ? parse_efi_boolean_variable(*setup_bytes) : Result<bool>(fail(setup_bytes.error()));
    if (setup_mode) {
        check.evidence.push_back(root.display(vars + "/SetupMode-" + kGlobalVariableGuid) + ": " +
                                 (*setup_mode ? "1 (setup mode: no platform key enrolled)" : "0 (user mode)"));
    }
    check.status = Status::pass;
    if (*enabled) {
        check.summary = "supported and enabled";
    } else if (setup_mode && *setup_mode) {
        check.summary = "supported, in setup mode (ready for your own keys)";
    } else {
        check.summary = "supported, currently disabled";
        check.remedy = "the installer enrols your own keys; put the firmware into Setup Mode before installing";
    }
    return check;
}

Check kvm_check(const RootedDir& root, const KvmProbeOutcome& kvm) {
    Check check = make_check("kvm.usable", "KVM can run a guest");
    check.status = kvm.status;
    check.summary = kvm.summary;
    check.evidence = kvm.evidence;
    check.remedy = kvm.remedy;
    if (auto modules = root.list("/sys/module"); modules) {
        std::vector<std::string> kvm_modules;
        std::copy_if(modules->begin(), modules->end(), std::back_inserter(kvm_modules),
                     [](const std::string& name) { return name == "kvm" || name.rfind("kvm_", 0) == 0; });
        check.evidence.push_back(root.display("/sys/module") + ": KVM modules loaded: " +
                                 (kvm_modules.empty() ? std::string("none") : join(kvm_modules)));
    }
    return check;
}

}  // namespace

Result<bool> parse_efi_boolean_variable(std::string_view bytes) {
    if (bytes.size() != 5) {
        return fail(ErrorCode::parse,
                    "expected 4 attribute bytes and 1 value byte, got " + std::to_string(bytes.size()) + " bytes");
    }
    const auto value = static_cast<unsigned char>(bytes[4]);
    if (value > 1) return fail(ErrorCode::parse, "value byte is " + std::to_string(value) + ", expected 0 or 1");
    return value == 1;
}

std::vector<Check> run_checks(const RootedDir& root, const KvmProbeOutcome& kvm) {
    std::vector<Check> cpu = cpu_checks(root);  // x86-64, virtualization, SLAT, bare metal
    std::vector<Check> checks{cpu[0], cpu[1], cpu[2]};
    checks.push_back(iommu_present_check(root));
    checks.push_back(iommu_enabled_check(root));
    checks.push_back(tpm_check(root));
    Check uefi = uefi_check(root);
    Check secure_boot = secure_boot_check(root, uefi);
    checks.push_back(std::move(uefi));
    checks.push_back(std::move(secure_boot));
    checks.push_back(kvm_check(root, kvm));
    checks.push_back(cpu[3]);
    return checks;
}

}  // namespace bulkhead::hcl
