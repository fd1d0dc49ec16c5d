#include "image/root_tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "image/elf.hpp"

namespace bulkhead::image {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxElfBytes = std::size_t{512} << 20;
constexpr std::size_t kMaxLibraries = 1024;

Result<void> make_parents(const std::string& staging, const std::string& target) {
    std::error_code error;
    fs::create_directories(fs::path(staging + target).parent_path(), error);
    if (error) return fail(ErrorCode::io, "creating the directories of " + target + ": " + error.message());
    return {};
}

// Copies the contents of `source` (following symlinks: the root holds the file itself) to a
// new file `target` in the staging tree.
Result<void> copy_file(const std::string& source, const std::string& staging, const std::string& target,
                       std::uint32_t mode) {
    if (auto made = make_parents(staging, target); !made) return made;
    const UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!in.valid()) return fail(Error::from_errno(errno, "opening " + source));
    struct stat info {};
    if (::fstat(in.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return fail(ErrorCode::invalid_argument, source + " is not a regular file");
    }
    const std::string path = staging + target;
    const UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out.valid()) {
        return fail(errno == EEXIST ? Error{ErrorCode::invalid_argument, target + " is in the root twice"}
                                    : Error::from_errno(errno, "creating " + path));
    }
    if (auto copied =
            read_fd_chunks(in.get(), source, [&](std::string_view chunk) { return write_all(out.get(), chunk, path); });
        !copied) {
        return copied;
    }
    if (::fchmod(out.get(), mode) != 0) return fail(Error::from_errno(errno, "setting the mode of " + path));
    return {};
}

std::string find_library(const std::string& soname, const std::vector<std::string>& dirs) {
    for (const std::string& dir : dirs) {
        std::error_code error;
        std::string candidate = concat({dir, "/", soname});
        if (fs::is_regular_file(candidate, error)) return candidate;
    }
    return {};
}

}  // namespace

Result<std::vector<std::string>> library_closure(const std::vector<std::string>& programs,
                                                 const std::vector<std::string>& library_dirs) {
    std::set<std::string> libraries;  // paths, both on the build machine and in the image
    std::vector<std::string> pending = programs;
    // The closure of DT_NEEDED; each library once.
    while (!pending.empty()) {
        const std::string next = pending.back();
        pending.pop_back();
        auto bytes = read_file_bounded(next, kMaxElfBytes);
        if (!bytes) return fail(bytes.error());
        auto dependencies = read_elf_dependencies(*bytes);
        if (!dependencies) return fail(ErrorCode::parse, next + ": " + dependencies.error().message);
        std::vector<std::string> wanted;
        if (!dependencies->interpreter.empty()) {
            const std::string& interpreter = dependencies->interpreter;
            if (interpreter.front() != '/' || interpreter.find("/..") != std::string::npos ||
                interpreter.find("//") != std::string::npos || interpreter.find("/./") != std::string::npos) {
                return fail(ErrorCode::parse, next + " names an interpreter that is not a plain absolute path");
            }
            wanted.push_back(interpreter);
        }
        for (const std::string& soname : dependencies->needed) {
            const std::string found = find_library(soname, library_dirs);
            if (found.empty())
                return fail(ErrorCode::not_found, concat({next, " needs ", soname, ", which is not installed"}));
            wanted.push_back(found);
        }
        for (const std::string& library : wanted) {
            if (libraries.contains(library)) continue;
            if (libraries.size() >= kMaxLibraries) return fail(ErrorCode::too_large, "more than 1024 libraries");
            libraries.insert(library);
            pending.push_back(library);
        }
    }
    return std::vector<std::string>(libraries.begin(), libraries.end());
}

Result<std::vector<std::string>> assemble_root(const ImageSpec& spec, const std::string& staging,
                                               const std::string& objcopy,
                                               const std::vector<std::string>& library_dirs) {
    std::vector<std::string> programs;
    for (const RootFile& file : spec.files) {
        if (auto copied = copy_file(file.source, staging, file.target, file.mode); !copied) return fail(copied.error());
        if (file.strip) {
            if (auto stripped = run_program_checked({objcopy, "--strip-all", staging + file.target}); !stripped) {
                return fail(stripped.error());
            }
        }
        if (file.libraries) programs.push_back(file.source);
    }
    auto libraries = library_closure(programs, library_dirs);
    if (!libraries) return fail(libraries.error());
    for (const std::string& library : *libraries) {
        if (auto copied = copy_file(library, staging, library, 0755); !copied) return fail(copied.error());
    }
    for (const RootTree& tree : spec.trees) {
        std::error_code error;
        for (auto entry = fs::recursive_directory_iterator(tree.source, error); !error && entry != fs::end(entry);
             entry.increment(error)) {
            const std::string relative = fs::relative(entry->path(), tree.source).string();
            const std::string target = tree.target + "/" + relative;
            if (entry->is_symlink()) return fail(ErrorCode::invalid_argument, entry->path().string() + " is a symlink");
            if (entry->is_directory()) {
                fs::create_directories(staging + target, error);
            } else if (entry->is_regular_file()) {
                const auto perms = static_cast<std::uint32_t>(entry->status().permissions()) & 0777U;
                if (auto copied = copy_file(entry->path().string(), staging, target, perms & ~022U); !copied) {
                    return fail(copied.error());
                }
            } else {
                return fail(ErrorCode::invalid_argument, entry->path().string() + " is neither a file nor a directory");
            }
        }
        if (error) return fail(ErrorCode::io, "reading " + tree.source + ": " + error.message());
    }
    for (const std::string& directory : spec.directories) {
        std::error_code error;
        fs::create_directories(staging + directory, error);
        if (error) return fail(ErrorCode::io, "creating " + directory + ": " + error.message());
    }
    for (const auto& [path, to] : spec.symlinks) {
        if (auto made = make_parents(staging, path); !made) return fail(made.error());
        if (::symlink(to.c_str(), (staging + path).c_str()) != 0) {
            return fail(Error::from_errno(errno, "creating the symlink " + path));
        }
    }
    return std::move(*libraries);
}

}  // namespace bulkhead::image
