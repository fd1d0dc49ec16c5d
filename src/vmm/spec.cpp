#include <algorithm>

#include "vmm/backend.hpp"

namespace bulkhead::vmm {

namespace {

constexpr std::uint32_t kMinMemoryMib = 64;
constexpr std::uint32_t kMaxMemoryMib = 65536;
constexpr std::uint32_t kMaxVcpus = 64;
constexpr std::size_t kMaxKernelArgs = 64;

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F;
    });
}

Result<void> check_path(std::string_view what, const std::string& path) {
    if (path.empty() || path.front() != '/') {
        return fail(ErrorCode::invalid_argument, std::string(what) + " must be an absolute path, got '" + path + "'");
    }
    if (has_control_character(path) || path.size() > 4096) {
        return fail(ErrorCode::invalid_argument, std::string(what) + " path has control characters or is too long");
    }
    return {};
}

}  // namespace

std::string_view accelerator_name(Accelerator accelerator) noexcept {
    return accelerator == Accelerator::kvm ? "kvm" : "tcg";
}

Result<void> check_spec(const VmSpec& spec) {
    if (spec.name.empty() || spec.name.size() > 64 || has_control_character(spec.name)) {
        return fail(ErrorCode::invalid_argument, "a VM needs a name of 1 to 64 printable characters");
    }
    for (const auto& [what, path] : {std::pair<std::string_view, const std::string*>{"kernel", &spec.kernel},
                                     {"initrd", &spec.initrd},
                                     {"root image", &spec.root_image},
                                     {"console log", &spec.console_log},
                                     {"QMP socket", &spec.qmp_socket},
                                     {"control socket", &spec.control_socket}}) {
        if (auto checked = check_path(what, *path); !checked) return checked;
    }
    if (spec.state_image) {
        if (auto checked = check_path("state image", *spec.state_image); !checked) return checked;
    }
    if (spec.memory_mib < kMinMemoryMib || spec.memory_mib > kMaxMemoryMib) {
        return fail(ErrorCode::invalid_argument, "VM memory must be between 64 and 65536 MiB");
    }
    if (spec.vcpus < 1 || spec.vcpus > kMaxVcpus) return fail(ErrorCode::invalid_argument, "VM vCPUs must be 1 to 64");
    if (spec.kernel_args.size() > kMaxKernelArgs) return fail(ErrorCode::invalid_argument, "too many kernel arguments");
    for (const std::string& arg : spec.kernel_args) {
        // Arguments are joined with spaces; one must never turn into two, or smuggle quotes.
        const bool splits = arg.empty() || arg.size() > 1024 || has_control_character(arg) ||
                            arg.find_first_of(" \"'") != std::string::npos;
        if (splits)
            return fail(ErrorCode::invalid_argument,
                        "kernel argument '" + arg + "' is empty or has spaces, quotes or control characters");
    }
    for (const SharedDirectory& share : spec.shares) {
        if (auto checked = check_path("share socket", share.socket); !checked) return checked;
        const bool tag_ok =
            !share.tag.empty() && share.tag.size() <= 36 && std::all_of(share.tag.begin(), share.tag.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            });
        if (!tag_ok) return fail(ErrorCode::invalid_argument, "a share's tag is 1 to 36 of [a-z0-9-]");
    }
    if (spec.network) {
        const std::string& mac = spec.network->mac;
        bool well_formed = mac.size() == 17;
        for (std::size_t i = 0; well_formed && i < mac.size(); ++i) {
            const char c = mac[i];
            well_formed = i % 3 == 2 ? c == ':' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        }
        if (!well_formed) return fail(ErrorCode::invalid_argument, "a NIC's MAC address must be xx:xx:xx:xx:xx:xx");
        if (spec.network->tap_fd < 3) return fail(ErrorCode::invalid_argument, "a tap descriptor must be 3 or more");
    }
    return {};
}

}  // namespace bulkhead::vmm
