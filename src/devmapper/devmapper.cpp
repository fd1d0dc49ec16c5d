#include "devmapper/devmapper.hpp"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.hpp"

namespace bulkhead::devmapper {

namespace {

constexpr std::size_t kMaxParameters = 4096;

dm_ioctl header_for(const std::string& name) {
    dm_ioctl header{};
    header.version[0] = DM_VERSION_MAJOR;
    header.version[1] = 0;
    header.version[2] = 0;
    header.data_size = sizeof header;
    header.data_start = sizeof header;
    std::memcpy(header.name, name.data(), name.size());
    return header;
}

Result<void> check_name(const std::string& name) {
    if (name.empty() || name.size() >= DM_NAME_LEN || name.find('/') != std::string::npos) {
        return fail(ErrorCode::invalid_argument, "a device-mapper name is 1 to 127 bytes without '/'");
    }
    return {};
}

Result<void> call(int control, unsigned long request, void* buffer, const char* what) {
    int result = -1;
    do {
        result = ::ioctl(control, request, buffer);
    } while (result < 0 && errno == EINTR);
    if (result < 0) return fail(Error::from_errno(errno, std::string("device-mapper ") + what));
    return {};
}

}  // namespace

Result<std::string> table_load_request(const std::string& name, const Target& target) {
    if (auto named = check_name(name); !named) return fail(named.error());
    if (target.type.empty() || target.type.size() >= DM_MAX_TYPE_NAME || target.parameters.size() > kMaxParameters ||
        target.parameters.find('\0') != std::string::npos || target.sectors == 0) {
        return fail(ErrorCode::invalid_argument,
                    "a device-mapper target needs a type, a length and a short table line");
    }
    // The target spec and its NUL-terminated parameters, padded to 8 bytes.
    const std::size_t spec_bytes = (sizeof(dm_target_spec) + target.parameters.size() + 1 + 7) & ~std::size_t{7};
    std::string request(sizeof(dm_ioctl) + spec_bytes, '\0');
    dm_ioctl header = header_for(name);
    header.data_size = static_cast<std::uint32_t>(request.size());
    header.target_count = 1;
    header.flags = DM_READONLY_FLAG;
    std::memcpy(request.data(), &header, sizeof header);
    dm_target_spec spec{};
    spec.sector_start = 0;
    spec.length = target.sectors;
    spec.next = 0;
    std::memcpy(spec.target_type, target.type.data(), target.type.size());
    std::memcpy(request.data() + sizeof header, &spec, sizeof spec);
    std::memcpy(request.data() + sizeof header + sizeof spec, target.parameters.data(), target.parameters.size());
    return request;
}

Result<std::string> create_read_only_device(const std::string& control, const std::string& name, const Target& target) {
    auto load = table_load_request(name, target);
    if (!load) return fail(load.error());
    const UniqueFd fd(::open(control.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening " + control));

    dm_ioctl create = header_for(name);
    if (auto created = call(fd.get(), DM_DEV_CREATE, &create, "create"); !created) return fail(created.error());
    auto remove = [&] {
        dm_ioctl gone = header_for(name);
        (void)call(fd.get(), DM_DEV_REMOVE, &gone, "remove");
    };
    if (auto loaded = call(fd.get(), DM_TABLE_LOAD, load->data(), "table load"); !loaded) {
        remove();
        return fail(loaded.error());
    }
    // Resuming a device with a loaded but inactive table makes the table live.
    dm_ioctl resume = header_for(name);
    if (auto resumed = call(fd.get(), DM_DEV_SUSPEND, &resume, "resume"); !resumed) {
        remove();
        return fail(resumed.error());
    }
    return "/dev/dm-" + std::to_string(::minor(static_cast<dev_t>(resume.dev)));
}

}  // namespace bulkhead::devmapper
