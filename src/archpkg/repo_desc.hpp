// The `desc` and `files` entries of a pacman repository database (REPO.db / REPO.files): one
// `%SECTION%` block per field, values one per line, blocks separated by an empty line. Format 1
// (repo-add before pacman 6.1, and Debian's) has %MD5SUM%; format 2 does not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archpkg/version.hpp"
#include "base/result.hpp"

namespace bulkhead::archpkg {

inline constexpr std::size_t kMaxDescBytes = 1U << 20U;
inline constexpr std::size_t kMaxFilesListBytes = std::size_t{64} << 20U;
// A detached OpenPGP signature (a few hundred bytes in practice).
inline constexpr std::size_t kMaxSignatureBytes = std::size_t{16} << 10U;

struct RepoPackage {
    std::string file_name;  // the package file's name in the repository directory
    std::string name;
    std::string base;  // the name when %BASE% is absent
    std::string version;
    std::string description;
    std::vector<std::string> groups;
    std::uint64_t compressed_size = 0;  // the package file's size
    std::uint64_t installed_size = 0;
    std::string sha256;  // 32 raw bytes of the package file's sha256
    bool has_md5 = false;
    std::string pgp_signature;  // the detached signature (decoded), when the database embeds it
    std::string url;
    std::vector<std::string> licenses;
    std::string arch;
    std::int64_t build_date = 0;
    std::string packager;
    std::vector<Dependency> replaces;
    std::vector<Dependency> conflicts;
    std::vector<Dependency> provides;
    std::vector<Dependency> depends;
    std::vector<OptionalDependency> optional_depends;
    std::vector<Dependency> make_depends;
    std::vector<Dependency> check_depends;
    std::vector<std::string> files;  // from REPO.files: relative paths, directories end in '/'
};

Result<RepoPackage> parse_desc(std::string_view text);

// A `files` entry: "%FILES%" and one path per line (an empty file lists no files).
Result<std::vector<std::string>> parse_files_list(std::string_view text);

}  // namespace bulkhead::archpkg
