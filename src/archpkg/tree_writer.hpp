// Unpacks the payloads of packages, as read_package checks them, into one directory tree: the
// root of an app. Every name is created beneath the tree's root without following any symlink
// (a package's own symlinks are created, never traversed), nothing is overwritten, and a path
// that two packages both deliver (other than a directory) is refused as a conflict, as pacman
// refuses it. Owners and times are not kept: the tree becomes an erofs image with every file
// owned by root and every time zero (mkfs.erofs --all-root -T0), so it is reproducible.
//
// Contents arrive before read_package has checked their sha256, so the tree is only usable
// when every package read into it succeeded and finish() has run; on any failure the caller
// removes the whole tree. Packages hold setuid binaries (old, vulnerable versions too), so the
// tree's root must be the caller's own and closed to everyone else (mode 0700): nobody else can
// reach, let alone run, anything below it. Directories stay 0700 while the tree is built (so a
// read-only directory cannot stop its own contents) and get their modes in finish().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "archpkg/package.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::archpkg {

class TreeWriter final : public PayloadSink {
public:
    // `dir` must be an existing, empty directory owned by the caller with mode 0700.
    static Result<std::unique_ptr<TreeWriter>> open(const std::string& dir);

    // Gives every directory its mode, deepest first. Call once, after the last package.
    Result<void> finish();

    // Names the package whose payload follows, for conflict messages.
    void set_package(std::string name) { package_ = std::move(name); }

    Result<void> directory(const MtreeEntry& listed) override;
    Result<void> symlink(const MtreeEntry& listed) override;
    Result<void> hard_link(const MtreeEntry& listed, const std::string& target) override;
    Result<void> begin_file(const MtreeEntry& listed) override;
    Result<void> file_data(std::string_view chunk) override;
    Result<void> end_file() override;

    [[nodiscard]] std::uint64_t entries() const noexcept { return owners_.size(); }

private:
    TreeWriter(UniqueFd root, std::string dir) : root_(std::move(root)), dir_(std::move(dir)) {}

    struct Parent {
        UniqueFd fd;
        std::string name;  // the last component
    };
    Result<Parent> parent_of(const std::string& path) const;
    Result<void> claim(const std::string& path);
    Failure conflict(const std::string& path) const;

    UniqueFd root_;
    std::string dir_;
    std::string package_;
    std::map<std::string, std::string, std::less<>> owners_;  // path -> package that delivered it
    std::map<std::string, std::uint32_t, std::less<>> directory_modes_;
    UniqueFd file_;
    std::string file_path_;
    std::uint32_t file_mode_ = 0;
};

}  // namespace bulkhead::archpkg
