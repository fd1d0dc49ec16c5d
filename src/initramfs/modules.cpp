#include "initramfs/modules.hpp"

#include <filesystem>

#include "base/file_io.hpp"
#include "base/text.hpp"

namespace bulkhead::initramfs {

namespace {

constexpr std::size_t kMaxListBytes = 65536;
constexpr std::size_t kMaxModuleBytes = std::size_t{64} << 20;

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

Result<void> add_modules(CpioWriter& cpio, const std::string& modules_dir, const std::vector<std::string>& modules) {
    int index = 0;
    for (const std::string& module : modules) {
        auto bytes = read_file_bounded(concat({modules_dir, "/", module}), kMaxModuleBytes);
        if (!bytes) return fail(bytes.error());
        const std::string number = std::to_string(index++);
        const std::string zeros(number.size() < 3 ? 3 - number.size() : 0, '0');
        if (auto added = cpio.add_file(concat({"lib/modules/", zeros, number, "-", module}), *bytes, 0644); !added) {
            return fail(added.error());
        }
    }
    return {};
}

}  // namespace bulkhead::initramfs
