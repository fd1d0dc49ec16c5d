#include "boot/esp.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::boot {

namespace {

constexpr int kToolSeconds = 120;
constexpr std::size_t kMaxNames = 4096;

// mtools takes "::" for the file system's root; our paths are relative to it.
std::string on_esp(const std::string& path) { return concat({"::/", path}); }

Result<ProgramOutput> mtool(const std::string& tool, std::vector<std::string> args) {
    args.insert(args.begin(), concat({"/usr/bin/", tool}));
    RunOptions options;
    options.timeout_seconds = kToolSeconds;
    return run_program_checked(args, options);
}

}  // namespace

std::string Esp::image() const { return concat({disk_, "@@", std::to_string(offset_)}); }

Result<void> Esp::sync() const {
    const UniqueFd fd(::open(disk_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid() || ::fsync(fd.get()) != 0) return fail(Error::from_errno(errno, "syncing " + disk_));
    return {};
}

Result<std::vector<std::string>> Esp::list(const std::string& dir) const {
    auto listed = run_program({"/usr/bin/mdir", "-b", "-i", image(), on_esp(dir)});
    if (!listed) return fail(listed.error());
    if (listed->exit_code != 0) {
        if (listed->err.find("not found") != std::string::npos) {
            return fail(ErrorCode::not_found, concat({"no ", dir, " on the EFI system partition"}));
        }
        return fail(ErrorCode::io,
                    concat({"listing ", dir, " on the EFI system partition: ", valid_utf8(listed->err)}));
    }
    // One full path per line: "::/EFI/Linux/NAME".
    const std::string prefix = concat({on_esp(dir), "/"});
    std::vector<std::string> names;
    std::size_t at = 0;
    while (at < listed->out.size()) {
        const std::size_t end = std::min(listed->out.find('\n', at), listed->out.size());
        const std::string line = listed->out.substr(at, end - at);
        at = end + 1;
        if (line.empty()) continue;
        if (!line.starts_with(prefix) || line.size() == prefix.size()) {
            return fail(ErrorCode::parse, concat({"unexpected mdir output '", valid_utf8(line.substr(0, 80)), "'"}));
        }
        std::string name = line.substr(prefix.size());
        if (name.back() == '/') name.pop_back();  // a directory
        if (names.size() == kMaxNames) return fail(ErrorCode::too_large, concat({"too many entries in ", dir}));
        names.push_back(std::move(name));
    }
    return names;
}

Result<void> Esp::make_dirs(const std::vector<std::string>& dirs) const {
    std::vector<std::string> args = {"-i", image()};
    for (const std::string& dir : dirs) args.push_back(on_esp(dir));
    if (auto made = mtool("mmd", args); !made) return fail(made.error());
    return sync();
}

Result<void> Esp::put(const std::string& local_file, const std::string& path) const {
    // -D s: an existing name is skipped with an error, never overwritten or renamed.
    if (auto copied = mtool("mcopy", {"-i", image(), "-D", "s", local_file, on_esp(path)}); !copied) {
        return fail(copied.error());
    }
    return sync();
}

Result<void> Esp::rename(const std::string& from, const std::string& to_name) const {
    if (auto renamed = mtool("mren", {"-i", image(), "-D", "s", on_esp(from), to_name}); !renamed) {
        return fail(renamed.error());
    }
    return sync();
}

Result<void> Esp::remove(const std::string& path) const {
    if (auto removed = mtool("mdel", {"-i", image(), on_esp(path)}); !removed) return fail(removed.error());
    return sync();
}

Result<void> Esp::get(const std::string& path, const std::string& local_file) const {
    struct stat info {};
    if (::lstat(local_file.c_str(), &info) == 0) return fail(ErrorCode::invalid_argument, local_file + " exists");
    if (auto copied = mtool("mcopy", {"-i", image(), on_esp(path), local_file}); !copied) {
        return fail(copied.error());
    }
    return {};
}

}  // namespace bulkhead::boot
