// A pacman repository database (`REPO.db`, or `REPO.files` which adds each package's file
// list): a tar archive with one `NAME-VERSION/` directory per package holding `desc` (and
// `files`). Read whole and strictly: unknown entries, a directory whose name is not its
// package's, or one package name twice are refused.
#pragma once

#include <string>
#include <vector>

#include "archpkg/archive_reader.hpp"
#include "archpkg/repo_desc.hpp"
#include "base/result.hpp"

namespace bulkhead::archpkg {

struct RepoDatabase {
    std::vector<RepoPackage> packages;  // sorted by name
    bool has_files = false;             // a .files database: every package has its file list
};

// Database limits: 200000 entries, 1 GiB unpacked, 256 MiB compressed.
ArchiveLimits repo_database_limits() noexcept;

Result<RepoDatabase> read_repo_database(int fd, const std::string& what,
                                        const ArchiveLimits& limits = repo_database_limits());
Result<RepoDatabase> read_repo_database_file(const std::string& path,
                                             const ArchiveLimits& limits = repo_database_limits());

// The package named `name`, or nullptr.
const RepoPackage* find_package(const RepoDatabase& database, std::string_view name) noexcept;

}  // namespace bulkhead::archpkg
