#include "vmimage/initramfs.hpp"

#include <filesystem>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "initramfs/cpio.hpp"

namespace bulkhead::vmimage {

namespace {

constexpr std::size_t kMaxBinaryBytes = std::size_t{64} << 20;
constexpr std::size_t kMaxListBytes = 65536;

}  // namespace

Result<std::vector<std::string>> read_module_list(const std::string& path) {
    auto bytes = read_file_bounded(path, kMaxListBytes);
    if (!bytes) return fail(bytes.error());
    std::vector<std::string> modules;
    std::size_t start = 0;
    while (start < bytes->size()) {
        std::size_t end = bytes->find('\n', start);
        if (end == std::string::npos) end = bytes->size();
        std::string line = bytes->substr(start, end - start);
        start = end + 1;
        if (const std::size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.pop_back();
        if (line.empty()) continue;
        const std::string name = std::filesystem::path(line).filename().string();
        if (!name.ends_with(".ko")) return fail(ErrorCode::parse, concat({path, ": '", line, "' is not a .ko file"}));
        modules.push_back(name);
    }
    if (modules.empty()) return fail(ErrorCode::parse, path + " lists no modules");
    return modules;
}

Result<std::string> build_app_initramfs(const GuestFiles& files, const guest::RunSpec& spec) {
    initramfs::CpioWriter cpio;
    for (const char* dir : {"dev", "proc", "sys", "run", "app", "lib", "lib/modules", "bulkhead"}) {
        if (auto added = cpio.add_directory(dir); !added) return fail(added.error());
    }
    // The kernel opens /dev/console for /init before anything is mounted.
    if (auto added = cpio.add_char_device("dev/console", 5, 1); !added) return fail(added.error());
    auto init = read_file_bounded(files.init, kMaxBinaryBytes);
    if (!init) return fail(init.error());
    if (auto added = cpio.add_file("init", *init, 0755); !added) return fail(added.error());
    int index = 0;
    for (const std::string& module : files.modules) {
        auto bytes = read_file_bounded(concat({files.modules_dir, "/", module}), kMaxBinaryBytes);
        if (!bytes) return fail(bytes.error());
        // Loaded in file-name order: the number keeps the list's order.
        const std::string number = std::to_string(index++);
        const std::string zeros(number.size() < 3 ? 3 - number.size() : 0, '0');
        if (auto added = cpio.add_file(concat({"lib/modules/", zeros, number, "-", module}), *bytes, 0644); !added) {
            return fail(added.error());
        }
    }
    if (auto added = cpio.add_file("bulkhead/argv", guest::join_nul_list(spec.argv)); !added)
        return fail(added.error());
    if (auto added = cpio.add_file("bulkhead/env", guest::join_nul_list(spec.env)); !added) return fail(added.error());
    if (auto added = cpio.add_file("bulkhead/restart", std::string(guest::restart_name(spec.restart))); !added) {
        return fail(added.error());
    }
    return cpio.finish();
}

}  // namespace bulkhead::vmimage
