#include "jailer/cgroup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::jailer {

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kCpuPeriodMicros = 100000;

Result<void> write_control(const std::string& file, const std::string& value) {
    const UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening " + file));
    return write_all(fd.get(), value, file);
}

Result<void> make_directory(const std::string& path) {
    std::error_code error;
    fs::create_directories(path, error);
    if (error) return fail(ErrorCode::io, "creating cgroup " + path + ": " + error.message());
    return {};
}

bool has_controllers(const std::string& unified_root) {
    auto controllers = read_file_bounded(unified_root + "/cgroup.controllers", 4096);
    return controllers && controllers->find("memory") != std::string::npos &&
           controllers->find("pids") != std::string::npos && controllers->find("cpu") != std::string::npos;
}

}  // namespace

Result<Cgroup> Cgroup::create(const std::string& mount_root, const std::string& name, const Limits& limits) {
    if (limits.memory_bytes == 0 || limits.pids == 0 || limits.cpu_percent == 0) {
        return fail(ErrorCode::invalid_argument, "cgroup limits must all be above zero");
    }
    const std::string quota = std::to_string(kCpuPeriodMicros * limits.cpu_percent / 100);
    if (has_controllers(mount_root)) {
        // Pure v2: enable the controllers for our subtree, then limit the leaf.
        const std::string parent = mount_root + "/bulkhead";
        if (auto made = make_directory(parent); !made) return fail(made.error());
        if (auto enabled = write_control(mount_root + "/cgroup.subtree_control", "+memory +pids +cpu"); !enabled) {
            return fail(enabled.error());
        }
        if (auto enabled = write_control(parent + "/cgroup.subtree_control", "+memory +pids +cpu"); !enabled) {
            return fail(enabled.error());
        }
        const std::string leaf = parent + "/" + name;
        if (auto made = make_directory(leaf); !made) return fail(made.error());
        for (const auto& [file, value] :
             {std::pair<std::string, std::string>{"memory.max", std::to_string(limits.memory_bytes)},
              {"memory.swap.max", "0"},
              {"pids.max", std::to_string(limits.pids)},
              {"cpu.max", quota + " " + std::to_string(kCpuPeriodMicros)}}) {
            auto written = write_control(concat({leaf, "/", file}), value);
            if (!written && file != "memory.swap.max") return fail(written.error());  // no swap accounting: fine
        }
        return Cgroup(true, {leaf});
    }
    // Hybrid or v1: one leaf per controller hierarchy.
    std::vector<std::string> leaves;
    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> controllers = {
        {"memory", {{"memory.limit_in_bytes", std::to_string(limits.memory_bytes)}}},
        {"pids", {{"pids.max", std::to_string(limits.pids)}}},
        {"cpu", {{"cpu.cfs_period_us", std::to_string(kCpuPeriodMicros)}, {"cpu.cfs_quota_us", quota}}},
    };
    for (const auto& [controller, files] : controllers) {
        const std::string hierarchy = concat({mount_root, "/", controller});
        if (!fs::exists(concat({hierarchy, "/cgroup.procs"}))) {
            return fail(ErrorCode::unsupported, concat({"no cgroup ", controller, " controller under ", mount_root,
                                                        " (neither cgroup v2 with it nor a v1 hierarchy)"}));
        }
        const std::string leaf = concat({hierarchy, "/bulkhead/", name});
        if (auto made = make_directory(leaf); !made) return fail(made.error());
        for (const auto& [file, value] : files) {
            if (auto written = write_control(concat({leaf, "/", file}), value); !written) return fail(written.error());
        }
        leaves.push_back(leaf);
    }
    return Cgroup(false, std::move(leaves));
}

Result<void> Cgroup::add(pid_t pid) const {
    for (const std::string& leaf : directories_) {
        if (auto written = write_control(leaf + "/cgroup.procs", std::to_string(pid)); !written) return written;
    }
    return {};
}

Result<bool> Cgroup::has_processes() const {
    for (const std::string& leaf : directories_) {
        auto procs = read_file_bounded(leaf + "/cgroup.procs", std::size_t{1} << 20);
        if (!procs) return fail(procs.error());
        if (!procs->empty()) return true;
    }
    return false;
}

Result<void> Cgroup::remove() const {
    for (const std::string& leaf : directories_) {
        if (::rmdir(leaf.c_str()) != 0 && errno != ENOENT) return fail(Error::from_errno(errno, "removing " + leaf));
    }
    return {};
}

}  // namespace bulkhead::jailer
