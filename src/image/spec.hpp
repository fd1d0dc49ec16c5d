// The declarative spec of a system core image (TOML; docs/IMAGE.md): the kernel and its
// command line, the initrd's program and modules, every file of the read-only root (nothing
// else goes in: no shell, no package manager), and the disk layout. Paths are relative to the
// spec's directory unless absolute.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace bulkhead::image {

struct RootFile {
    std::string source;      // on the build machine
    std::string target;      // absolute path in the root
    std::uint32_t mode = 0;  // permission bits (no set-id bits: the root has no set-id files)
    bool libraries = false;  // also add the shared libraries it needs (and theirs)
    bool strip = false;      // drop its symbols and debug information (our own binaries)
};

struct RootTree {
    std::string source;  // a directory copied in whole (files, directories; no symlinks or devices)
    std::string target;  // absolute
};

struct ImageSpec {
    std::string version;  // [A-Za-z0-9._-], 1 to 64 characters
    // Raised when a release fixes a vulnerability that older images must not be booted for; the
    // TPM floor counts these (docs/UPDATES.md). 0 to 65535.
    std::uint32_t security_version = 0;
    std::string kernel;
    std::string kernel_modules_dir;
    std::string initrd_modules;            // list of module file names in load order
    std::vector<std::string> kernel_args;  // added to bulkhead.verity=, bulkhead.version=, lockdown
    std::string initrd_init;
    // More files of the initramfs (the floor reader and the library its TPM loader opens), with
    // their shared libraries when asked; targets are absolute paths in the initramfs.
    std::vector<RootFile> initrd_files;
    std::string efi_stub;  // systemd's linuxx64.efi.stub
    // systemd's systemd-bootx64.efi, signed into the image directory for A/B installs; empty:
    // the image has no boot manager (it boots its UKI directly).
    std::string boot_manager;
    std::vector<RootFile> files;
    std::vector<RootTree> trees;
    std::vector<std::string> directories;                       // empty directories (mount points)
    std::vector<std::pair<std::string, std::string>> symlinks;  // {target path, link text}
    std::uint32_t esp_mib = 512;
    std::uint32_t root_slot_mib = 256;
    std::uint32_t verity_slot_mib = 16;
    std::uint32_t state_mib = 64;
};

// `source` names the spec in errors; relative paths are resolved against `base_dir`.
Result<ImageSpec> parse_image_spec(std::string_view text, std::string_view source, const std::string& base_dir);

// A release of the same spec under another version and security version (what a release
// manager changes between releases), checked by the spec's own rules.
Result<void> set_release(ImageSpec& spec, const std::optional<std::string>& version,
                         const std::optional<std::int64_t>& security_version);

}  // namespace bulkhead::image
