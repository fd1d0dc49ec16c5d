#include "image/builder.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "crypto/digest.hpp"
#include "gpt/gpt.hpp"
#include "image/root_tree.hpp"
#include "image/uki.hpp"
#include "initramfs/cpio.hpp"
#include "initramfs/modules.hpp"
#include "json/value.hpp"
#include "json/write.hpp"
#include "verity/hash_tree.hpp"

namespace bulkhead::image {

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::size_t kMaxProgramBytes = std::size_t{64} << 20;

Result<std::string> sha256_of_file(const std::string& path, std::uint64_t& size) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening " + path));
    crypto::Hasher hasher(crypto::HashAlgorithm::sha256);
    size = 0;
    if (auto read = read_fd_chunks(fd.get(), path,
                                   [&](std::string_view chunk) -> Result<void> {
                                       hasher.update(chunk);
                                       size += chunk.size();
                                       return {};
                                   });
        !read) {
        return fail(read.error());
    }
    return hex_encode(hasher.finish());
}

// An anonymous in-memory file holding `bytes`, for a program that wants a path to a secret.
Result<UniqueFd> memory_file(const char* name, std::string_view bytes) {
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "creating a memory file"));
    if (auto written = write_all(fd.get(), bytes, name); !written) return fail(written.error());
    return fd;
}

Result<void> copy_into(const std::string& source, int disk, std::uint64_t offset, std::uint64_t room) {
    const UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) return fail(Error::from_errno(errno, "opening " + source));
    std::uint64_t at = 0;
    return read_fd_chunks(in.get(), source, [&](std::string_view chunk) -> Result<void> {
        if (at + chunk.size() > room) return fail(ErrorCode::too_large, source + " does not fit its partition");
        std::size_t done = 0;
        while (done < chunk.size()) {
            const ssize_t put =
                ::pwrite(disk, chunk.data() + done, chunk.size() - done, static_cast<off_t>(offset + at + done));
            if (put < 0 && errno == EINTR) continue;
            if (put <= 0) return fail(Error::from_errno(errno, "writing the disk image"));
            done += static_cast<std::size_t>(put);
        }
        at += chunk.size();
        return {};
    });
}

// A file only the builder puts into the root; the spec may not.
Result<void> add_builder_file(const std::string& staging, const char* path, std::string_view contents) {
    const fs::path file = fs::path(staging) / (path + 1);
    std::error_code error;
    fs::create_directories(file.parent_path(), error);
    if (error || fs::exists(file)) {
        return fail(ErrorCode::invalid_argument,
                    concat({"the root may not hold ", path, ": the builder puts it there"}));
    }
    return write_file_atomically(file.string(), contents, 0644, false);
}

Result<std::string> build_initrd(const ImageSpec& spec) {
    initramfs::CpioWriter cpio;
    for (const char* dir : {"dev", "proc", "sys", "sysroot", "lib", "lib/modules"}) {
        if (auto added = cpio.add_directory(dir); !added) return fail(added.error());
    }
    if (auto added = cpio.add_char_device("dev/console", 5, 1); !added) return fail(added.error());
    auto init = read_file_bounded(spec.initrd_init, kMaxProgramBytes);
    if (!init) return fail(init.error());
    if (auto added = cpio.add_file("init", *init, 0755); !added) return fail(added.error());
    // More programs (the floor reader) with the libraries they need, at the same paths as here.
    std::vector<std::pair<std::string, RootFile>> extra;  // {path in the archive, file}
    std::vector<std::string> programs;
    for (const RootFile& file : spec.initrd_files) {
        extra.emplace_back(file.target.substr(1), file);
        if (file.libraries) programs.push_back(file.source);
    }
    auto libraries = library_closure(programs);
    if (!libraries) return fail(libraries.error());
    for (const std::string& library : *libraries) {
        extra.emplace_back(library.substr(1), RootFile{.source = library, .target = library, .mode = 0755});
    }
    for (const auto& [path, file] : extra) {
        auto contents = read_file_bounded(file.source, kMaxProgramBytes);
        if (!contents) return fail(contents.error());
        if (auto parents = cpio.add_parent_directories(path); !parents) return fail(parents.error());
        if (auto added = cpio.add_file(path, *contents, file.mode); !added) return fail(added.error());
    }
    auto modules = initramfs::read_module_list(spec.initrd_modules);
    if (!modules) return fail(modules.error());
    if (auto added = initramfs::add_modules(cpio, spec.kernel_modules_dir, *modules); !added)
        return fail(added.error());
    return cpio.finish();
}

}  // namespace

Result<BuiltImage> build_image(const ImageSpec& spec, const std::string& out_dir, const SigningIdentity& db,
                               const BuildTools& tools, std::string_view update_root) {
    std::error_code error;
    if (fs::exists(out_dir, error)) return fail(ErrorCode::invalid_argument, out_dir + " exists already");
    const fs::path parent = fs::absolute(out_dir).parent_path();
    std::string work = (parent / ("." + fs::path(out_dir).filename().string() + ".partial-XXXXXX")).string();
    if (::mkdtemp(work.data()) == nullptr)
        return fail(Error::from_errno(errno, "creating a directory in " + parent.string()));
    struct Cleanup {
        std::string path;
        bool keep = false;
        ~Cleanup() {
            std::error_code ignored;
            if (!keep) fs::remove_all(path, ignored);
        }
    } cleanup{work};

    // 1. The root tree and its erofs image (fixed timestamps, root-owned, UUID from the version).
    const std::string staging = work + "/root";
    fs::create_directory(staging, error);
    if (auto assembled = assemble_root(spec, staging, tools.objcopy); !assembled) return fail(assembled.error());
    // The owner's db certificate: `bulkhead system update` on the core checks a new release's
    // kernel image against it before installing it; and the TUF root it verifies bundles
    // against (docs/UPDATES.md).
    if (auto added = add_builder_file(staging, kDbCertificatePath, db.certificate_pem); !added) {
        return fail(added.error());
    }
    if (!update_root.empty()) {
        if (auto added = add_builder_file(staging, kUpdateRootPath, update_root); !added) return fail(added.error());
    }
    const std::string root_image = work + "/root.erofs";
    const gpt::Guid fs_uuid =
        gpt::guid_from_bytes(crypto::digest(crypto::HashAlgorithm::sha256, "erofs:" + spec.version));
    if (auto made = run_program_checked(
            {tools.mkfs_erofs, "--quiet", "--all-root", "-T0", "-U" + gpt::guid_text(fs_uuid), root_image, staging});
        !made) {
        return fail(made.error());
    }
    fs::remove_all(staging, error);
    std::uint64_t root_bytes = 0;
    auto root_digest = sha256_of_file(root_image, root_bytes);
    if (!root_digest) return fail(root_digest.error());
    if (root_bytes > std::uint64_t{spec.root_slot_mib} * kMiB) {
        return fail(ErrorCode::too_large,
                    concat({"the root image (", std::to_string(root_bytes / kMiB), " MiB) does not fit a root slot of ",
                            std::to_string(spec.root_slot_mib), " MiB"}));
    }

    // 2. The verity tree; salt and superblock UUID come from the root image itself.
    verity::Parameters parameters;
    parameters.salt = crypto::digest(crypto::HashAlgorithm::sha256, "verity-salt:" + *root_digest);
    const gpt::Guid verity_uuid = gpt::guid_from_bytes(parameters.salt);
    std::copy(verity_uuid.begin(), verity_uuid.end(), parameters.uuid.begin());
    const std::string verity_image = work + "/root.verity";
    verity::HashTree tree;
    {
        const UniqueFd data(::open(root_image.c_str(), O_RDONLY | O_CLOEXEC));
        const UniqueFd hash(::open(verity_image.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!data.valid() || !hash.valid()) return fail(Error::from_errno(errno, "opening the verity files"));
        auto built = verity::build_hash_tree(data.get(), root_bytes, hash.get(), parameters);
        if (!built) return fail(built.error());
        tree = std::move(*built);
        if (::fsync(hash.get()) != 0) return fail(Error::from_errno(errno, "writing " + verity_image));
    }
    if (tree.hash_bytes > std::uint64_t{spec.verity_slot_mib} * kMiB) {
        return fail(ErrorCode::too_large, "the verity tree does not fit its slot");
    }
    const std::string root_hash = hex_encode(tree.root_hash);

    // 3. The initrd and the signed unified kernel image.
    auto initrd = build_initrd(spec);
    if (!initrd) return fail(initrd.error());
    const std::string initrd_path = work + "/initrd.cpio";
    if (auto written = write_file_atomically(initrd_path, *initrd, 0644); !written) return fail(written.error());
    // `gpt`: the kernel uses the backup partition table when the primary is damaged (an update
    // changes partition UUIDs; see docs/UPDATES.md), as the initrd's own reader does.
    std::string command_line = "lockdown=confidentiality gpt";
    for (const std::string& arg : spec.kernel_args) command_line += " " + arg;
    command_line += concat({" bulkhead.verity=", root_hash, " bulkhead.version=", spec.version,
                            " bulkhead.security=", std::to_string(spec.security_version)});
    // No VERSION_ID or IMAGE_VERSION: systemd-boot would order entries by that version before
    // their names; without one it orders ours by name, which is by release (docs/UPDATES.md).
    const std::string os_release =
        concat({"ID=bulkhead\nNAME=Bulkhead\nPRETTY_NAME=\"Bulkhead ", spec.version, "\"\nIMAGE_ID=bulkhead\n"});
    const std::string unsigned_uki = work + "/bulkhead.unsigned.efi";
    if (auto assembled = assemble_uki({spec.efi_stub, spec.kernel, initrd_path, command_line, os_release}, unsigned_uki,
                                      tools.objcopy, work);
        !assembled) {
        return fail(assembled.error());
    }
    const std::string uki = work + "/bulkhead.efi";
    auto sign = [&db, &tools](const std::string& input, const std::string& output) -> Result<void> {
        auto key = memory_file("db-key", db.private_key_pem);
        if (!key) return fail(key.error());
        auto cert = memory_file("db-cert", db.certificate_pem);
        if (!cert) return fail(cert.error());
        auto signed_file =
            run_program_checked({tools.sbsign, "--key", "/proc/self/fd/" + std::to_string(key->get()), "--cert",
                                 "/proc/self/fd/" + std::to_string(cert->get()), "--output", output, input},
                                {.as = std::nullopt, .inherit = {key->get(), cert->get()}});
        if (!signed_file) return fail(signed_file.error());
        return {};
    };
    if (auto signed_uki = sign(unsigned_uki, uki); !signed_uki) return fail(signed_uki.error());
    fs::remove(unsigned_uki, error);
    // systemd-boot, for disks with two slots: the firmware checks it against db like the UKIs.
    if (!spec.boot_manager.empty()) {
        if (auto signed_boot = sign(spec.boot_manager, work + "/systemd-bootx64.efi"); !signed_boot) {
            return fail(signed_boot.error());
        }
    }

    // 4. The disk.
    const std::string hash_bytes = tree.root_hash;
    auto derived = [&](std::string_view purpose) {
        return gpt::guid_from_bytes(crypto::digest(crypto::HashAlgorithm::sha256, concat({purpose, ":", hash_bytes})));
    };
    gpt::DiskLayout layout;
    layout.disk_guid = derived("disk");
    layout.partitions = {
        {"esp", *gpt::parse_guid(gpt::kEspType), derived("esp"), std::uint64_t{spec.esp_mib} * kMiB, 0},
        {"root-a", *gpt::parse_guid(gpt::kRootType), gpt::guid_from_bytes(hash_bytes.substr(0, 16)),
         std::uint64_t{spec.root_slot_mib} * kMiB, gpt::kReadOnlyAttribute},
        {"verity-a", *gpt::parse_guid(gpt::kRootVerityType),
         gpt::guid_from_bytes(hash_bytes.substr(hash_bytes.size() - 16)), std::uint64_t{spec.verity_slot_mib} * kMiB,
         gpt::kReadOnlyAttribute},
        {"root-b", *gpt::parse_guid(gpt::kRootType), derived("root-b"), std::uint64_t{spec.root_slot_mib} * kMiB,
         gpt::kReadOnlyAttribute},
        {"verity-b", *gpt::parse_guid(gpt::kRootVerityType), derived("verity-b"),
         std::uint64_t{spec.verity_slot_mib} * kMiB, gpt::kReadOnlyAttribute},
        {"state", *gpt::parse_guid(gpt::kLinuxDataType), derived("state"), std::uint64_t{spec.state_mib} * kMiB, 0},
    };
    const std::string disk = work + "/disk.img";
    std::vector<gpt::Placement> placements;
    {
        const UniqueFd fd(::open(disk.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(gpt::disk_bytes(layout))) != 0) {
            return fail(Error::from_errno(errno, "creating " + disk));
        }
        auto placed = gpt::write_partition_table(fd.get(), layout);
        if (!placed) return fail(placed.error());
        placements = std::move(*placed);
        if (auto copied = copy_into(root_image, fd.get(), placements[1].offset(), placements[1].size()); !copied) {
            return fail(copied.error());
        }
        if (auto copied = copy_into(verity_image, fd.get(), placements[2].offset(), placements[2].size()); !copied) {
            return fail(copied.error());
        }
        if (::fsync(fd.get()) != 0) return fail(Error::from_errno(errno, "writing " + disk));
    }
    const std::string esp_at = disk + "@@" + std::to_string(placements[0].offset());
    for (const std::vector<std::string>& step : std::vector<std::vector<std::string>>{
             {tools.mkfs_vfat, "-F", "32", "-n", "BULKHEAD", "-i", hex_encode(hash_bytes.substr(0, 4)), "--invariant",
              "--offset=" + std::to_string(placements[0].first_lba), disk, std::to_string(placements[0].size() / 1024)},
             {tools.mmd, "-i", esp_at, "::EFI", "::EFI/BOOT"},
             {tools.mcopy, "-i", esp_at, uki, "::EFI/BOOT/BOOTX64.EFI"}}) {
        if (auto done = run_program_checked(step); !done) return fail(done.error());
    }

    // 5. The manifest, then the directory appears under its name.
    json::Array artifacts;
    std::vector<std::string> names = {"root.erofs", "root.verity", "initrd.cpio", "bulkhead.efi", "disk.img"};
    if (!spec.boot_manager.empty()) names.emplace_back("systemd-bootx64.efi");
    for (const std::string& name : names) {
        std::uint64_t size = 0;
        auto digest = sha256_of_file(concat({work, "/", name}), size);
        if (!digest) return fail(digest.error());
        artifacts.push_back(json::Value(json::Object{{"name", json::Value(std::string(name))},
                                                     {"size", json::Value(static_cast<std::int64_t>(size))},
                                                     {"sha256", json::Value(*digest)}}));
    }
    const json::Value manifest(
        json::Object{{"format", json::Value(std::string("bulkhead-image/1"))},
                     {"version", json::Value(spec.version)},
                     {"security_version", json::Value(static_cast<std::int64_t>(spec.security_version))},
                     {"root_hash", json::Value(root_hash)},
                     {"command_line", json::Value(command_line)},
                     {"artifacts", json::Value(std::move(artifacts))}});
    if (auto written = write_file_atomically(work + "/manifest.json", json::to_json(manifest) + "\n", 0644); !written) {
        return fail(written.error());
    }
    if (::chmod(work.c_str(), 0755) != 0) return fail(Error::from_errno(errno, "setting the mode of " + work));
    if (auto synced = sync_directory(work); !synced) return fail(synced.error());
    if (::rename(work.c_str(), out_dir.c_str()) != 0) return fail(Error::from_errno(errno, "creating " + out_dir));
    cleanup.keep = true;
    (void)sync_directory(parent.string());
    return BuiltImage{spec.version, root_hash, command_line};
}

}  // namespace bulkhead::image
