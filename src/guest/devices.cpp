#include "guest/devices.hpp"

#include <filesystem>

#include "base/file_io.hpp"

namespace bulkhead::guest {

namespace {

namespace fs = std::filesystem;

// The first line of a small sysfs attribute, or nothing when it cannot be read.
std::optional<std::string> attribute(const fs::path& file) {
    auto bytes = read_file_bounded(file.string(), 4096);
    if (!bytes) return std::nullopt;
    std::string value = *bytes;
    if (const std::size_t newline = value.find('\n'); newline != std::string::npos) value.resize(newline);
    return value;
}

Result<std::optional<std::string>> find_in(const fs::path& dir, const std::string& attribute_name,
                                           const std::string& wanted, bool (*accept)(const std::string&)) {
    std::error_code error;
    if (!fs::exists(dir, error)) return std::optional<std::string>();
    std::optional<std::string> found;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
        const std::string device = entry.path().filename().string();
        if (!accept(device)) continue;
        if (attribute(entry.path() / attribute_name) == wanted) {
            if (found) return fail(ErrorCode::invalid_argument, "two devices are named '" + wanted + "'");
            found = "/dev/" + device;
        }
    }
    if (error) return fail(ErrorCode::io, "reading " + dir.string() + ": " + error.message());
    return found;
}

}  // namespace

Result<std::optional<std::string>> find_virtio_port(const std::string& root, const std::string& name) {
    return find_in(fs::path(root) / "sys/class/virtio-ports", "name", name,
                   [](const std::string& device) { return device.starts_with("vport"); });
}

Result<std::optional<std::string>> find_disk_by_serial(const std::string& root, const std::string& serial) {
    return find_in(fs::path(root) / "sys/block", "serial", serial,
                   [](const std::string& device) { return device.starts_with("vd"); });
}

}  // namespace bulkhead::guest
