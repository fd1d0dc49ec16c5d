#include "archpkg/repo_db.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "archpkg/mtree.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::archpkg {
namespace {

struct Directory {
    std::optional<RepoPackage> desc;
    std::optional<std::vector<std::string>> files;
};

}  // namespace

ArchiveLimits repo_database_limits() noexcept {
    ArchiveLimits limits;
    limits.max_raw_bytes = std::uint64_t{256} << 20U;
    limits.max_data_bytes = std::uint64_t{1} << 30U;
    limits.max_entries = 200000;
    return limits;
}

Result<RepoDatabase> read_repo_database(int fd, const std::string& what, const ArchiveLimits& limits) {
    auto opened = ArchiveReader::open_fd(fd, what, ArchiveReader::Format::tar, limits, false);
    if (!opened) return fail(opened.error());
    auto& reader = **opened;

    std::map<std::string, Directory, std::less<>> directories;
    // File lists are the large part of a .files database: bounded in total, not only per package.
    constexpr std::size_t kMaxFilesPerDatabase = 4000000;
    std::size_t listed_files = 0;
    for (;;) {
        auto next = reader.next();
        if (!next) return fail(next.error());
        if (!*next) break;
        const auto& entry = **next;
        auto path = normalise_path(entry.path, what);
        if (!path) return fail(path.error());
        const auto slash = path->find('/');
        const auto directory_name = path->substr(0, slash);
        if (slash == std::string::npos) {
            if (entry.kind != ArchiveEntryKind::directory) {
                return fail(ErrorCode::parse, concat({what, ": '", valid_utf8(*path), "' is not a package directory"}));
            }
            directories.try_emplace(directory_name);
            continue;
        }
        const auto file_name = path->substr(slash + 1);
        if (entry.kind != ArchiveEntryKind::file || (file_name != "desc" && file_name != "files")) {
            return fail(ErrorCode::parse, concat({what, " has an unexpected entry '", valid_utf8(*path),
                                                  "' (only NAME-VERSION/desc and NAME-VERSION/files)"}));
        }
        auto& directory = directories[directory_name];
        const auto where = concat({what, ": ", valid_utf8(*path)});
        if (file_name == "desc") {
            if (directory.desc) return fail(ErrorCode::parse, where + " appears twice");
            auto text = reader.read_data_whole(kMaxDescBytes);
            if (!text) return fail(text.error());
            auto desc = parse_desc(*text);
            if (!desc) return fail(ErrorCode::parse, concat({where, ": ", desc.error().message}));
            directory.desc = std::move(desc).value();
        } else {
            if (directory.files) return fail(ErrorCode::parse, where + " appears twice");
            auto text = reader.read_data_whole(kMaxFilesListBytes);
            if (!text) return fail(text.error());
            auto files = parse_files_list(*text);
            if (!files) return fail(ErrorCode::parse, concat({where, ": ", files.error().message}));
            listed_files += files->size();
            if (listed_files > kMaxFilesPerDatabase) {
                return fail(ErrorCode::too_large, what + " lists more than 4000000 files in all");
            }
            directory.files = std::move(files).value();
        }
    }

    RepoDatabase database;
    database.packages.reserve(directories.size());
    std::size_t with_files = 0;
    for (auto& [name, directory] : directories) {
        if (!directory.desc) return fail(ErrorCode::parse, concat({what, ": ", valid_utf8(name), "/ has no desc"}));
        auto& package = *directory.desc;
        if (name != concat({package.name, "-", package.version})) {
            return fail(ErrorCode::parse, concat({what, ": directory '", valid_utf8(name), "' holds ", package.name,
                                                  " ", package.version}));
        }
        if (directory.files) {
            package.files = std::move(*directory.files);
            ++with_files;
        }
        database.packages.push_back(std::move(package));
    }
    if (with_files != 0 && with_files != database.packages.size()) {
        return fail(ErrorCode::parse, what + " has file lists for some packages but not for others");
    }
    database.has_files = with_files != 0;
    std::sort(database.packages.begin(), database.packages.end(),
              [](const RepoPackage& a, const RepoPackage& b) { return a.name < b.name; });
    for (std::size_t i = 1; i < database.packages.size(); ++i) {
        if (database.packages[i].name == database.packages[i - 1].name) {
            return fail(ErrorCode::parse, concat({what, " lists ", database.packages[i].name, " twice"}));
        }
    }
    return database;
}

Result<RepoDatabase> read_repo_database_file(const std::string& path, const ArchiveLimits& limits) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening repository database " + path));
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) return fail(Error::from_errno(errno, "inspecting " + path));
    if (!S_ISREG(status.st_mode)) {
        return fail(ErrorCode::invalid_argument, "repository database " + path + " is not a regular file");
    }
    return read_repo_database(fd.get(), path, limits);
}

const RepoPackage* find_package(const RepoDatabase& database, std::string_view name) noexcept {
    const auto found =
        std::lower_bound(database.packages.begin(), database.packages.end(), name,
                         [](const RepoPackage& package, std::string_view key) { return package.name < key; });
    return found != database.packages.end() && found->name == name ? &*found : nullptr;
}

}  // namespace bulkhead::archpkg
