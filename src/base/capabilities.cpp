#include "base/capabilities.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace bulkhead {

namespace {

// The highest capability number the kernel may know; unknown ones answer EINVAL.
constexpr int kHighestCapability = 63;

Result<std::array<__user_cap_data_struct, 2>> get_capabilities() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data{};
    if (::syscall(SYS_capget, &header, data.data()) != 0) return fail(Error::from_errno(errno, "reading capabilities"));
    return data;
}

}  // namespace

Result<void> keep_only_capabilities(std::initializer_list<int> keep) {
    std::uint64_t mask = 0;
    for (const int capability : keep) {
        if (capability < 0 || capability > kHighestCapability) {
            return fail(ErrorCode::invalid_argument, "no capability numbered " + std::to_string(capability));
        }
        mask |= std::uint64_t{1} << static_cast<unsigned>(capability);
    }
    // CAP_SETPCAP last: dropping the others needs it.
    for (int capability = 0; capability <= kHighestCapability; ++capability) {
        if (capability == CAP_SETPCAP || (mask & (std::uint64_t{1} << static_cast<unsigned>(capability))) != 0)
            continue;
        if (::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL) {
            return fail(Error::from_errno(errno, "dropping capability " + std::to_string(capability)));
        }
    }
    if (std::find(keep.begin(), keep.end(), CAP_SETPCAP) == keep.end() &&
        ::prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0) != 0) {
        return fail(Error::from_errno(errno, "dropping CAP_SETPCAP"));
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        return fail(Error::from_errno(errno, "clearing the ambient capabilities"));
    }
    auto current = get_capabilities();
    if (!current) return fail(current.error());
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data = *current;
    for (std::size_t half = 0; half < data.size(); ++half) {
        const auto bits = static_cast<std::uint32_t>(mask >> (32U * half));
        data[half].permitted &= bits;
        data[half].effective &= bits;
        data[half].inheritable = 0;
    }
    if (::syscall(SYS_capset, &header, data.data()) != 0) return fail(Error::from_errno(errno, "setting capabilities"));
    return {};
}

Result<std::uint64_t> effective_capabilities() {
    auto data = get_capabilities();
    if (!data) return fail(data.error());
    return std::uint64_t{(*data)[0].effective} | std::uint64_t{(*data)[1].effective} << 32U;
}

}  // namespace bulkhead
