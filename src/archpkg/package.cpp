#include "archpkg/package.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <map>
#include <optional>

#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::archpkg {
namespace {

enum class Metadata { pkginfo, buildinfo, mtree, install, changelog };

std::optional<Metadata> metadata_kind(std::string_view path) noexcept {
    if (path == ".PKGINFO") return Metadata::pkginfo;
    if (path == ".BUILDINFO") return Metadata::buildinfo;
    if (path == ".MTREE") return Metadata::mtree;
    if (path == ".INSTALL") return Metadata::install;
    if (path == ".CHANGELOG") return Metadata::changelog;
    return std::nullopt;
}

// What pacman treats as package metadata rather than payload: a dotfile at the top level.
bool is_top_level_dotfile(std::string_view path) noexcept {
    return path.starts_with('.') && path.find('/') == std::string_view::npos;
}

std::string_view archive_kind_name(ArchiveEntryKind kind) noexcept {
    switch (kind) {
        case ArchiveEntryKind::file: return "file";
        case ArchiveEntryKind::directory: return "directory";
        case ArchiveEntryKind::symlink: return "symlink";
        case ArchiveEntryKind::hardlink: return "hard link";
        case ArchiveEntryKind::other: return "device, FIFO or socket";
    }
    return "unknown";
}

std::string octal(std::uint32_t mode) {
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + (mode & 7U)));
        mode >>= 3U;
    } while (mode != 0);
    return "0" + digits;
}

// Everything the tar header says that .MTREE also says; contents are checked by the caller.
Result<void> check_header(const ArchiveEntry& entry, const MtreeEntry& listed, std::string_view what) {
    const auto mismatch = [&](std::string_view field, std::string_view archive_value, std::string_view mtree_value) {
        return fail(ErrorCode::integrity,
                    concat({what, ": '", valid_utf8(listed.path), "' does not match .MTREE: ", field, " is ",
                            archive_value, " in the archive but ", mtree_value, " in .MTREE"}));
    };
    const bool type_matches = (listed.type == EntryType::file &&
                               (entry.kind == ArchiveEntryKind::file || entry.kind == ArchiveEntryKind::hardlink)) ||
                              (listed.type == EntryType::directory && entry.kind == ArchiveEntryKind::directory) ||
                              (listed.type == EntryType::symlink && entry.kind == ArchiveEntryKind::symlink);
    if (!type_matches) return mismatch("the type", archive_kind_name(entry.kind), entry_type_name(listed.type));
    if (entry.mode != listed.mode) {
        return mismatch("the mode", octal(entry.mode), octal(listed.mode));
    }
    if (entry.uid != listed.uid) return mismatch("the uid", std::to_string(entry.uid), std::to_string(listed.uid));
    if (entry.gid != listed.gid) return mismatch("the gid", std::to_string(entry.gid), std::to_string(listed.gid));
    if (entry.mtime_seconds != listed.time_seconds || entry.mtime_nanoseconds != listed.time_nanoseconds) {
        return mismatch("the time", std::to_string(entry.mtime_seconds), std::to_string(listed.time_seconds));
    }
    if (entry.kind == ArchiveEntryKind::file && static_cast<std::uint64_t>(entry.size) != listed.size) {
        return mismatch("the size", std::to_string(entry.size), std::to_string(listed.size));
    }
    if (listed.type == EntryType::symlink && entry.link != listed.link) {
        return mismatch("the link target", valid_utf8(entry.link), valid_utf8(listed.link));
    }
    return {};
}

Result<void> check_digest(std::string_view computed, const MtreeEntry& listed, std::string_view what) {
    if (!crypto::constant_time_equal(computed, listed.sha256)) {
        return fail(ErrorCode::integrity, concat({what, ": the contents of '", valid_utf8(listed.path),
                                                  "' do not match their sha256 in .MTREE"}));
    }
    return {};
}

struct MetadataFiles {
    std::map<Metadata, std::string> contents;
    std::map<Metadata, ArchiveEntry> headers;
};

Result<void> check_same_package(const PkgInfo& info, const BuildInfo& build, std::string_view what) {
    const auto differ = [&](std::string_view field, std::string_view pkginfo, std::string_view buildinfo) {
        return fail(ErrorCode::integrity, concat({what, ": .PKGINFO and .BUILDINFO disagree on ", field, " ('", pkginfo,
                                                  "' and '", buildinfo, "')"}));
    };
    if (info.name != build.name) return differ("pkgname", info.name, build.name);
    if (info.base != build.base) return differ("pkgbase", info.base, build.base);
    if (info.version != build.version) return differ("pkgver", info.version, build.version);
    if (info.arch != build.arch) return differ("the architecture", info.arch, build.arch);
    return {};
}

}  // namespace

Result<Package> read_package(int fd, const std::string& what, const ArchiveLimits& limits, PayloadSink* sink) {
    auto opened = ArchiveReader::open_fd(fd, what, ArchiveReader::Format::tar, limits, true);
    if (!opened) return fail(opened.error());
    auto& reader = **opened;

    // The metadata files, which makepkg puts before the payload.
    MetadataFiles metadata;
    std::optional<ArchiveEntry> entry;
    std::optional<std::string> entry_path;
    for (;;) {
        auto next = reader.next();
        if (!next) return fail(next.error());
        entry = std::move(next).value();
        if (!entry) break;
        auto path = normalise_path(entry->path, what);
        if (!path) return fail(path.error());
        if (!is_top_level_dotfile(*path)) {
            entry_path = std::move(path).value();
            break;
        }
        const auto kind = metadata_kind(*path);
        if (!kind) {
            return fail(ErrorCode::parse, concat({what, " has an unknown metadata file '", valid_utf8(*path), "'"}));
        }
        if (entry->kind != ArchiveEntryKind::file) {
            return fail(ErrorCode::parse, concat({what, ": ", *path, " is not a regular file"}));
        }
        if (metadata.contents.contains(*kind)) {
            return fail(ErrorCode::parse, concat({what, " has ", *path, " twice"}));
        }
        const std::size_t cap = *kind == Metadata::pkginfo     ? kMaxPkginfoBytes
                                : *kind == Metadata::buildinfo ? kMaxBuildinfoBytes
                                : *kind == Metadata::mtree     ? kMaxMtreeCompressedBytes
                                                               : kMaxScriptBytes;
        auto contents = reader.read_data_whole(cap);
        if (!contents) return fail(contents.error());
        metadata.contents.emplace(*kind, std::move(contents).value());
        metadata.headers.emplace(*kind, *entry);
    }
    for (const auto& [kind, name] :
         {std::pair{Metadata::pkginfo, ".PKGINFO"}, std::pair{Metadata::buildinfo, ".BUILDINFO"},
          std::pair{Metadata::mtree, ".MTREE"}}) {
        if (!metadata.contents.contains(kind)) {
            return fail(ErrorCode::parse, concat({what, " has no ", name, " before its payload"}));
        }
    }

    Package package;
    auto info = parse_pkginfo(metadata.contents.at(Metadata::pkginfo));
    if (!info) return fail(ErrorCode::parse, concat({what, ": ", info.error().message}));
    package.info = std::move(info).value();
    auto build = parse_buildinfo(metadata.contents.at(Metadata::buildinfo));
    if (!build) return fail(ErrorCode::parse, concat({what, ": ", build.error().message}));
    package.build = std::move(build).value();
    if (auto same = check_same_package(package.info, package.build, what); !same) return fail(same.error());
    auto mtree_text = gunzip_bounded(metadata.contents.at(Metadata::mtree), what + ": .MTREE", kMaxMtreeTextBytes);
    if (!mtree_text) return fail(mtree_text.error());
    auto mtree = parse_mtree(*mtree_text);
    if (!mtree) return fail(ErrorCode::parse, concat({what, ": ", mtree.error().message}));
    package.mtree = std::move(mtree).value();
    package.has_install_script = metadata.contents.contains(Metadata::install);

    std::map<std::string_view, std::size_t> listed_at;
    for (std::size_t i = 0; i < package.mtree.entries.size(); ++i) listed_at.emplace(package.mtree.entries[i].path, i);
    std::vector<bool> matched(package.mtree.entries.size(), false);
    const auto listing = [&](std::string_view path) -> Result<std::size_t> {
        const auto found = listed_at.find(path);
        if (found == listed_at.end()) {
            return fail(ErrorCode::integrity,
                        concat({what, ": '", valid_utf8(path), "' is in the package but not in its .MTREE"}));
        }
        if (matched[found->second]) {
            return fail(ErrorCode::integrity, concat({what, " has '", valid_utf8(path), "' twice"}));
        }
        matched[found->second] = true;
        return found->second;
    };

    // The metadata files other than .MTREE itself are listed in it like the payload.
    for (const auto& [kind, contents] : metadata.contents) {
        if (kind == Metadata::mtree) continue;
        const auto& header = metadata.headers.at(kind);
        auto path = normalise_path(header.path, what);
        if (!path) return fail(path.error());
        auto index = listing(*path);
        if (!index) return fail(index.error());
        const auto& listed = package.mtree.entries[*index];
        if (auto checked = check_header(header, listed, what); !checked) return fail(checked.error());
        const auto digest = crypto::digest(crypto::HashAlgorithm::sha256, contents);
        if (auto checked = check_digest(digest, listed, what); !checked) return fail(checked.error());
    }

    // The payload, streamed: each entry is checked against its listing as it goes by.
    std::map<std::string, std::string, std::less<>> file_digests;  // path -> sha256, for hard links
    while (entry) {
        const auto& path = *entry_path;
        if (is_top_level_dotfile(path)) {
            return fail(ErrorCode::parse,
                        concat({what, ": metadata file '", valid_utf8(path), "' comes after the payload"}));
        }
        if (entry->has_extended_metadata) {
            return fail(ErrorCode::unsupported, concat({what, ": '", valid_utf8(path),
                                                        "' carries extended attributes, ACLs or file flags, which "
                                                        ".MTREE does not cover"}));
        }
        // Only regular files carry data: data on a hard link, directory or symlink would be
        // written by other tools (over the linked file, for a hard link) and seen by no check.
        if (entry->kind != ArchiveEntryKind::file && entry->size != 0) {
            return fail(ErrorCode::parse,
                        concat({what, ": '", valid_utf8(path), "' is not a regular file but carries data"}));
        }
        if (entry->kind == ArchiveEntryKind::other) {
            return fail(ErrorCode::unsupported, concat({what, ": '", valid_utf8(path),
                                                        "' is a device, FIFO or socket, which packages may not hold"}));
        }
        auto index = listing(path);
        if (!index) return fail(index.error());
        const auto& listed = package.mtree.entries[*index];
        if (auto checked = check_header(*entry, listed, what); !checked) return fail(checked.error());
        if (entry->kind == ArchiveEntryKind::file) {
            if (sink != nullptr) {
                if (auto begun = sink->begin_file(listed); !begun) return fail(begun.error());
            }
            crypto::Hasher hasher(crypto::HashAlgorithm::sha256);
            auto read = reader.read_data([&](std::string_view chunk) -> Result<void> {
                hasher.update(chunk);
                return sink == nullptr ? Result<void>{} : sink->file_data(chunk);
            });
            if (!read) return fail(read.error());
            auto digest = hasher.finish();
            if (auto checked = check_digest(digest, listed, what); !checked) return fail(checked.error());
            if (sink != nullptr) {
                if (auto ended = sink->end_file(); !ended) return fail(ended.error());
            }
            file_digests.insert_or_assign(path, std::move(digest));
            package.payload_bytes += listed.size;
        } else if (entry->kind == ArchiveEntryKind::directory && sink != nullptr) {
            if (auto made = sink->directory(listed); !made) return fail(made.error());
        } else if (entry->kind == ArchiveEntryKind::symlink && sink != nullptr) {
            if (auto made = sink->symlink(listed); !made) return fail(made.error());
        } else if (entry->kind == ArchiveEntryKind::hardlink) {
            auto target = normalise_path(entry->link, what);
            if (!target) return fail(target.error());
            const auto original = file_digests.find(*target);
            if (original == file_digests.end()) {
                return fail(ErrorCode::parse, concat({what, ": hard link '", valid_utf8(path),
                                                      "' points to a file that is not earlier in the package"}));
            }
            if (auto checked = check_digest(original->second, listed, what); !checked) return fail(checked.error());
            if (sink != nullptr) {
                if (auto linked = sink->hard_link(listed, *target); !linked) return fail(linked.error());
            }
            file_digests.insert_or_assign(path, original->second);
        }

        auto next = reader.next();
        if (!next) return fail(next.error());
        entry = std::move(next).value();
        if (entry) {
            auto next_path = normalise_path(entry->path, what);
            if (!next_path) return fail(next_path.error());
            entry_path = std::move(next_path).value();
        }
    }

    for (std::size_t i = 0; i < matched.size(); ++i) {
        if (!matched[i]) {
            return fail(ErrorCode::integrity, concat({what, ": '", valid_utf8(package.mtree.entries[i].path),
                                                      "' is listed in .MTREE but missing from the package"}));
        }
    }
    auto digests = reader.finish_raw_digests();
    if (!digests) return fail(digests.error());
    package.sha256 = std::move(digests->sha256);
    package.sha512 = std::move(digests->sha512);
    package.file_size = digests->size;
    return package;
}

Result<Package> read_package_file(const std::string& path, const ArchiveLimits& limits, PayloadSink* sink) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening package " + path));
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) return fail(Error::from_errno(errno, "inspecting package " + path));
    if (!S_ISREG(status.st_mode))
        return fail(ErrorCode::invalid_argument, "package " + path + " is not a regular file");
    return read_package(fd.get(), path, limits, sink);
}

}  // namespace bulkhead::archpkg
