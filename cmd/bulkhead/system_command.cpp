// `bulkhead system publish | bundle | check-bundle | update | status | bless | rollback`: core
// releases as TUF targets, update bundles, and A/B updates of a core's disk with systemd-boot's
// boot counting and the TPM anti-rollback floor (docs/UPDATES.md). On the core these act on its
// own disk and TPM; with --disk they act on a disk image (or device) and use no TPM unless
// --tcti names one.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "boot/boot_entries.hpp"
#include "bundle/bundle.hpp"
#include "cli/output.hpp"
#include "commands.hpp"
#include "floor/tpm_floor.hpp"
#include "image/builder.hpp"
#include "initrd/boot_args.hpp"
#include "initrd/partitions.hpp"
#include "json/parse.hpp"
#include "tuf/time.hpp"
#include "tuf_repo/repository.hpp"
#include "update/core_disk.hpp"
#include "update/core_release.hpp"
#include "update/install_disk.hpp"
#include "update/make_bundle.hpp"
#include "update/media.hpp"
#include "update/verify_bundle.hpp"

namespace bulkhead::cmd {

namespace {

constexpr std::size_t kMaxManifestBytes = 65536;
constexpr std::size_t kMaxRootBytes = std::size_t{1} << 20;
constexpr const char* kCoreTrustedRoot = image::kUpdateRootPath;
constexpr const char* kCoreDbCertificate = image::kDbCertificatePath;

struct SystemOptions {
    std::string repo;
    std::string image;
    std::int64_t release = 0;
    std::string out;
    std::string bundle;
    std::string trusted_root;
    std::string disk;
    std::string slot;
    std::string tcti;
    std::string keys;
    std::string db_certificate;
    bool media = false;
    bool json = false;
};

// What the running core booted, from its signed kernel command line; nullopt when this is not
// a Bulkhead core (a build machine working on a disk image).
std::optional<initrd::BootArgs> booted_image() {
    auto command_line = read_file_bounded("/proc/cmdline", 8192);
    if (!command_line) return std::nullopt;
    auto args = initrd::parse_boot_args(*command_line);
    if (!args) return std::nullopt;
    return *args;
}

// The disk, the booted image (on the core) and the TPM the command acts on.
struct Target {
    std::string disk;
    std::optional<initrd::BootArgs> booted;
    std::string tcti;  // empty: no TPM
};

// Whether `disk` holds the image this core booted (then --disk names the core's own disk, and
// every rule about the running image applies).
bool holds_booted(const std::string& disk, const initrd::BootArgs& booted) {
    const UniqueFd fd(::open(disk.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return false;
    std::uint64_t size = 0;
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return false;
    if (S_ISREG(info.st_mode)) {
        size = static_cast<std::uint64_t>(info.st_size);
    } else if (!S_ISBLK(info.st_mode) || ::ioctl(fd.get(), BLKGETSIZE64, &size) != 0) {
        return false;
    }
    auto slots = update::read_slots(fd.get(), size);
    if (!slots) return false;
    return std::any_of(slots->begin(), slots->end(),
                       [&booted](const update::Slot& slot) { return slot.holds(booted.root_hash); });
}

Result<Target> target_of(const SystemOptions& options) {
    Target target;
    target.tcti = options.tcti;
    if (!options.disk.empty()) {
        target.disk = options.disk;
        auto booted = booted_image();
        if (booted && holds_booted(options.disk, *booted)) {
            target.booted = std::move(booted);
            if (target.tcti.empty()) target.tcti = floor::default_tcti;
        }
        return target;
    }
    target.booted = booted_image();
    if (!target.booted) {
        return fail(ErrorCode::invalid_argument, "this is not a running Bulkhead core: give the disk with --disk");
    }
    auto found = initrd::find_partitions("/sys", "/dev", initrd::root_partition_uuid(target.booted->root_hash),
                                         initrd::verity_partition_uuid(target.booted->root_hash));
    if (!found) return fail(found.error());
    target.disk = found->disk;
    if (target.tcti.empty()) target.tcti = floor::default_tcti;
    return target;
}

std::optional<std::string> booted_hash(const Target& target) {
    if (!target.booted) return std::nullopt;
    return target.booted->root_hash;
}

Result<std::optional<tpm::FloorReading>> read_floor(const Target& target) {
    if (target.tcti.empty()) return std::optional<tpm::FloorReading>{};
    auto tpm = floor::TpmFloor::open(target.tcti);
    if (!tpm) return fail(tpm.error());
    auto reading = tpm->read();
    if (!reading) return fail(reading.error());
    return std::optional<tpm::FloorReading>{*reading};
}

// The disk a command acts on, locked for the command's whole run, and what is on it.
struct OpenedCore {
    Target target;
    update::CoreDisk disk;
    update::DiskStatus status;
};

Result<OpenedCore> open_core(const SystemOptions& options) {
    auto target = target_of(options);
    if (!target) return fail(target.error());
    auto disk = update::CoreDisk::open(target->disk);
    if (!disk) return fail(disk.error());
    auto status = disk->status();
    if (!status) return fail(status.error());
    return OpenedCore{std::move(*target), std::move(*disk), std::move(*status)};
}

nlohmann::ordered_json entry_json(const update::InstalledEntry& installed) {
    nlohmann::ordered_json entry = {{"entry", installed.entry.file_name()},
                                    {"release", installed.entry.release},
                                    {"version", installed.image.version},
                                    {"security_version", installed.image.security_version},
                                    {"root_hash", hex_encode(installed.image.root_hash)},
                                    {"blessed", installed.entry.blessed()}};
    entry["tries_left"] = installed.entry.tries_left ? nlohmann::ordered_json(*installed.entry.tries_left)
                                                     : nlohmann::ordered_json(nullptr);
    entry["slot"] =
        installed.slot ? nlohmann::ordered_json(std::string(1, *installed.slot)) : nlohmann::ordered_json(nullptr);
    return entry;
}

nlohmann::ordered_json release_json(const update::CoreRelease& release) {
    return {{"release", release.release},
            {"version", release.version},
            {"security_version", release.security_version},
            {"root_hash", release.root_hash}};
}

int done(const nlohmann::ordered_json& document, const std::string& text, bool json) {
    const bool printed = json ? cli::print_json(document) : cli::print_text(text);
    return printed ? cli::kExitOk : cli::kExitRefused;
}

// The release an image directory (made by `bulkhead image build`) becomes.
Result<update::CoreRelease> release_of_image(const std::string& image, std::int64_t release) {
    auto text = read_file_bounded(image + "/manifest.json", kMaxManifestBytes);
    if (!text) return fail(text.error());
    auto manifest = json::parse(*text);
    if (!manifest) return fail(ErrorCode::parse, concat({image, "/manifest.json: ", manifest.error().message}));
    const json::Value* format = manifest->find("format");
    const json::Value* version = manifest->find("version");
    const json::Value* security = manifest->find("security_version");
    const json::Value* root_hash = manifest->find("root_hash");
    if (format == nullptr || !format->is_string() || format->as_string() != "bulkhead-image/1" || version == nullptr ||
        !version->is_string() || security == nullptr || !security->is_integer() || root_hash == nullptr ||
        !root_hash->is_string()) {
        return fail(ErrorCode::parse, concat({image,
                                              "/manifest.json is not a bulkhead-image/1 manifest with a "
                                              "version, security_version and root_hash"}));
    }
    const update::CoreRelease core{release, version->as_string(),
                                   static_cast<std::uint32_t>(std::max<std::int64_t>(0, security->as_integer())),
                                   root_hash->as_string()};
    // The same rules the core applies when it reads the targets back.
    auto checked = update::parse_core_custom(update::core_custom(core, update::Part::uki));
    if (!checked) return fail(checked.error());
    if (security->as_integer() != static_cast<std::int64_t>(core.security_version)) {
        return fail(ErrorCode::parse, "the manifest's security_version is out of range");
    }
    return core;
}

int publish(const SystemOptions& options) {
    auto core = release_of_image(options.image, options.release);
    if (!core) return cli::report_error(core.error(), options.json);
    auto repository = tuf_repo::Repository::open(options.repo, tuf::now());
    if (!repository) return cli::report_error(repository.error(), options.json);
    for (const auto& [part, file] :
         {std::pair{update::Part::uki, "bulkhead.efi"}, std::pair{update::Part::verity, "root.verity"},
          std::pair{update::Part::root, "root.erofs"}, std::pair{update::Part::boot_manager, "systemd-bootx64.efi"}}) {
        // Images built without a boot manager boot their UKI directly; they can be updated to,
        // not installed from.
        if (part == update::Part::boot_manager && !std::filesystem::exists(concat({options.image, "/", file}))) {
            continue;
        }
        auto added = repository->add_target(update::core_target_path(core->release, part),
                                            tuf_repo::TargetFilePath{concat({options.image, "/", file})},
                                            update::core_custom(*core, part), std::nullopt);
        if (!added) return cli::report_error(added.error(), options.json);
    }
    if (auto committed = repository->commit(); !committed) return cli::report_error(committed.error(), options.json);
    return done(
        release_json(*core),
        concat({"staged core release ", std::to_string(core->release), " (image ", core->version, ", security version ",
                std::to_string(core->security_version), "): sign targets (repo sign), then publish\n"}),
        options.json);
}

int make_bundle(const SystemOptions& options) {
    auto made = update::bundle_from_published(options.repo + "/published", options.release, options.out);
    if (!made) return cli::report_error(made.error(), options.json);
    auto document = release_json(*made);
    document["bundle"] = options.out;
    return done(document,
                concat({"wrote ", options.out, " with core release ", std::to_string(made->release), " (image ",
                        made->version, ")\n"}),
                options.json);
}

int check_bundle(const SystemOptions& options) {
    auto trusted_root = read_file_bounded(options.trusted_root, kMaxRootBytes);
    if (!trusted_root) return cli::report_error(trusted_root.error(), options.json);
    auto opened = bundle::Bundle::open(options.bundle);
    if (!opened) return cli::report_error(opened.error(), options.json);
    auto verified = update::verify_bundle(*opened, *trusted_root, tuf::now());
    if (!verified) return cli::report_error(verified.error(), options.json);
    auto document = release_json(verified->release);
    document["root_version"] = verified->root_version;
    document["targets_version"] = verified->targets_version;
    return done(
        document,
        concat({options.bundle, ": verified core release ", std::to_string(verified->release.release), " (image ",
                verified->release.version, ", security version ", std::to_string(verified->release.security_version),
                ", root hash ", verified->release.root_hash, ")\n"}),
        options.json);
}

int update_disk(const SystemOptions& given) {
    SystemOptions options = given;
    if (options.media == !options.bundle.empty()) {
        return cli::report_error({ErrorCode::invalid_argument, "give either an update bundle or --media"},
                                 options.json);
    }
    if (options.media) {
        // A bundle written raw onto a disk (docs/UPDATES.md): exactly one may be attached, and
        // none is not an error (bulkhead-init asks at every boot).
        auto media = update::find_update_media();
        if (!media) return cli::report_error(media.error(), options.json);
        if (media->empty()) {
            return done({{"medium", nullptr}, {"installed", false}}, "no update medium attached\n", options.json);
        }
        if (media->size() > 1) {
            return cli::report_error(
                {ErrorCode::invalid_argument, concat({"more than one update medium is attached (", media->at(0), ", ",
                                                      media->at(1), "): attach one at a time"})},
                options.json);
        }
        options.bundle = media->front();
        if (!options.json) (void)cli::print_text(concat({"update medium ", options.bundle, "\n"}));
    }
    auto core = open_core(options);
    if (!core) return cli::report_error(core.error(), options.json);
    const Target* target = &core->target;
    const update::CoreDisk* disk = &core->disk;
    const update::DiskStatus* status = &core->status;
    const std::string root_file = options.trusted_root.empty() ? kCoreTrustedRoot : options.trusted_root;
    auto trusted_root = read_file_bounded(root_file, kMaxRootBytes);
    if (!trusted_root) return cli::report_error(trusted_root.error(), options.json);
    auto opened = bundle::Bundle::open(options.bundle);
    if (!opened) return cli::report_error(opened.error(), options.json);
    // A medium is taken only for a release newer than every release on the disk (installed,
    // on trial or failed): one left attached, or an older one, is not looked at again. Decided
    // from the unverified metadata first (skipping is always safe), then from the verified.
    std::int64_t newest_on_disk = 0;
    for (const update::InstalledEntry& installed : status->entries) {
        newest_on_disk = std::max(newest_on_disk, installed.entry.release);
    }
    auto nothing_new = [&](std::int64_t release) {
        nlohmann::ordered_json document = {{"medium", options.bundle}, {"release", release}, {"installed", false}};
        return done(
            document,
            concat({"core release ", std::to_string(release), " on the update medium is not newer than release ",
                    std::to_string(newest_on_disk), " on this disk: nothing to do\n"}),
            options.json);
    };
    if (options.media) {
        if (auto claimed = update::peek_release(*opened); claimed && *claimed <= newest_on_disk) {
            return nothing_new(*claimed);
        }
    }
    // What earlier bundles made this machine trust: the bundle's metadata may not be older.
    auto earlier = update::load_trusted_state(disk->esp());
    if (!earlier) return cli::report_error(earlier.error(), options.json);
    auto verified = update::verify_bundle(*opened, *trusted_root, tuf::now(), *earlier);
    if (!verified) return cli::report_error(verified.error(), options.json);
    if (options.media && verified->release.release <= newest_on_disk) return nothing_new(verified->release.release);
    auto floor_now = read_floor(*target);
    if (!floor_now) return cli::report_error(floor_now.error(), options.json);
    if (*floor_now && verified->release.security_version < (*floor_now)->floor) {
        return cli::report_error(
            {ErrorCode::rollback,
             concat({"core release ", std::to_string(verified->release.release), " has security version ",
                     std::to_string(verified->release.security_version), ", below this machine's anti-rollback floor ",
                     std::to_string((*floor_now)->floor), ": it would never boot"})},
            options.json);
    }
    if (*floor_now && (*floor_now)->provisioned &&
        verified->release.security_version > (*floor_now)->floor + floor::max_floor_step) {
        return cli::report_error(
            {ErrorCode::invalid_argument,
             concat({"core release ", std::to_string(verified->release.release), " would raise the floor from ",
                     std::to_string((*floor_now)->floor), " to ", std::to_string(verified->release.security_version),
                     ", more than ", std::to_string(floor::max_floor_step), " at once"})},
            options.json);
    }
    char slot = 0;
    if (!options.slot.empty()) {
        slot = options.slot[0];
        const auto hash = booted_hash(*target);
        for (const update::Slot& candidate : status->slots) {
            if (candidate.name == slot && hash && candidate.holds(*hash)) {
                return cli::report_error({ErrorCode::invalid_argument, "the running image is in that slot"},
                                         options.json);
            }
        }
    } else {
        auto chosen = update::update_slot(*status, booted_hash(*target));
        if (!chosen) return cli::report_error(chosen.error(), options.json);
        slot = *chosen;
    }
    // What the update replaces must not be the only thing known to come up: the other slot keeps
    // a blessed release to fall back to (on the core: the running one, once it is blessed).
    const bool fallback =
        std::any_of(status->entries.begin(), status->entries.end(), [slot](const update::InstalledEntry& installed) {
            return installed.slot && *installed.slot != slot && installed.entry.blessed();
        });
    if (!fallback) {
        return cli::report_error(
            {ErrorCode::invalid_argument, concat({"slot ", std::string(1, slot == 'a' ? 'b' : 'a'),
                                                  " has no blessed release to fall back to: bless the running release "
                                                  "first (it is still being tried), or update the other slot"})},
            options.json);
    }
    // The kernel image must carry the owner's signature: on the core, against the certificate its
    // own image carries; elsewhere, the one given.
    const std::string certificate = !options.db_certificate.empty() ? options.db_certificate
                                    : target->booted                ? std::string(kCoreDbCertificate)
                                                                    : std::string();
    if (certificate.empty()) {
        return cli::report_error({ErrorCode::invalid_argument,
                                  "give the owner's db certificate with --db-cert (KEYS/db.crt) to check the "
                                  "release's kernel image against"},
                                 options.json);
    }
    auto installed = disk->install(
        *opened, *verified, slot,
        [&options](update::InstallStep step) -> Result<void> {
            if (!options.json)
                (void)cli::print_text(concat({"  ", std::string(update::install_step_name(step)), "\n"}));
            return {};
        },
        certificate,
        [&] {
            // The metadata becomes the disk's baseline. Failing to keep it weakens the next
            // update's rollback check but must not stop this one (it may fix a vulnerability).
            if (verified->accepted == *earlier) return;
            if (auto kept = update::save_trusted_state(disk->esp(), verified->accepted); !kept) {
                cli::report_warning(
                    concat({"the TUF metadata of this update could not be kept on the ESP: ", kept.error().message}));
            }
        });
    if (!installed) return cli::report_error(installed.error(), options.json);
    auto document = release_json(verified->release);
    document["slot"] = std::string(1, slot);
    document["tries"] = boot::kDefaultTries;
    document["installed"] = true;
    return done(document,
                concat({"installed core release ", std::to_string(verified->release.release), " (image ",
                        verified->release.version, ") into slot ", std::string(1, slot), "; it gets ",
                        std::to_string(boot::kDefaultTries), " tries at the next boots until it is blessed\n"}),
                options.json);
}

int status_of_disk(const SystemOptions& options) {
    auto core = open_core(options);
    if (!core) return cli::report_error(core.error(), options.json);
    const Target* target = &core->target;
    const update::DiskStatus* status = &core->status;
    auto floor_now = read_floor(*target);
    if (!floor_now) return cli::report_error(floor_now.error(), options.json);
    const update::InstalledEntry* booted =
        target->booted ? update::booted_entry(*status, booted_hash(*target)) : nullptr;
    nlohmann::ordered_json document = {{"disk", target->disk}};
    document["booted"] = booted ? entry_json(*booted) : nlohmann::ordered_json(nullptr);
    nlohmann::ordered_json entries = nlohmann::ordered_json::array();
    std::string text = concat({"disk ", target->disk, "\n"});
    for (const update::InstalledEntry& installed : status->entries) {
        entries.push_back(entry_json(installed));
        text += concat(
            {"  ", installed.entry.file_name(), ": release ", std::to_string(installed.entry.release), " (image ",
             installed.image.version, ", security version ", std::to_string(installed.image.security_version),
             "), slot ", installed.slot ? std::string(1, *installed.slot) : std::string("none"),
             installed.entry.blessed() ? std::string(", blessed")
                                       : concat({", ", std::to_string(*installed.entry.tries_left), " tries left"}),
             &installed == booted ? ", booted" : "", "\n"});
    }
    document["entries"] = entries;
    if (*floor_now) {
        document["floor"] = {{"provisioned", (*floor_now)->provisioned}, {"floor", (*floor_now)->floor}};
        text += concat({"anti-rollback floor: ", std::to_string((*floor_now)->floor),
                        (*floor_now)->provisioned ? "" : " (not provisioned yet)", "\n"});
    } else {
        document["floor"] = nullptr;
        text += "anti-rollback floor: no TPM used\n";
    }
    document["unreadable"] = status->unreadable;
    for (const std::string& problem : status->unreadable) text += concat({"  unreadable: ", problem, "\n"});
    return done(document, text, options.json);
}

// The file systemd-boot renamed for this boot's try, when it counted one (LoaderBootCountPath).
Result<std::optional<std::string>> counted_entry_file() {
    const std::string variable = concat({"/sys/firmware/efi/efivars/LoaderBootCountPath-", boot::kLoaderVendorGuid});
    auto bytes = read_file_bounded(variable, 4096);
    if (!bytes) {
        if (bytes.error().code == ErrorCode::not_found) return std::optional<std::string>{};
        return fail(bytes.error());
    }
    auto path = boot::parse_loader_string_variable(*bytes);
    if (!path) return fail(ErrorCode::parse, concat({"LoaderBootCountPath: ", path.error().message}));
    const std::size_t slash = path->rfind('\\');
    return std::optional<std::string>{slash == std::string::npos ? *path : path->substr(slash + 1)};
}

int bless(const SystemOptions& options) {
    auto core = open_core(options);
    if (!core) return cli::report_error(core.error(), options.json);
    const Target* target = &core->target;
    const update::CoreDisk* disk = &core->disk;
    const update::DiskStatus* status = &core->status;
    const update::InstalledEntry* current = nullptr;
    std::uint32_t security_version = 0;
    if (target->booted) {
        // The running image as its own signed command line describes it: the entry to bless must
        // carry exactly that image, and be the file systemd-boot started when it counted a try.
        const initrd::BootArgs& booted = *target->booted;
        for (const update::InstalledEntry& installed : status->entries) {
            if (installed.image.root_hash != booted.root_hash || installed.image.version != booted.version ||
                installed.image.security_version != booted.security_version) {
                continue;
            }
            if (current != nullptr) {
                return cli::report_error({ErrorCode::invalid_argument, "two boot entries start the running image"},
                                         options.json);
            }
            current = &installed;
        }
        auto counted = counted_entry_file();
        if (!counted) return cli::report_error(counted.error(), options.json);
        if (current != nullptr && *counted && **counted != current->entry.file_name()) {
            return cli::report_error({ErrorCode::integrity, concat({"systemd-boot started ", **counted, ", not ",
                                                                    current->entry.file_name()})},
                                     options.json);
        }
        security_version = booted.security_version;
    } else {
        if (options.release == 0) {
            return cli::report_error({ErrorCode::invalid_argument, "with --disk, name the release with --release"},
                                     options.json);
        }
        for (const update::InstalledEntry& installed : status->entries) {
            if (installed.entry.release == options.release) current = &installed;
        }
        if (current != nullptr) security_version = current->image.security_version;
    }
    if (current == nullptr) {
        return cli::report_error({ErrorCode::not_found, "the image to bless has no boot entry on this disk"},
                                 options.json);
    }
    const std::int64_t release = current->entry.release;
    // The entry first, then the floor: a floor raised for an entry that could still fall back
    // could leave the machine with nothing it may boot.
    auto blessed = disk->bless(release);
    if (!blessed) return cli::report_error(blessed.error(), options.json);
    nlohmann::ordered_json document = {{"release", release}, {"entry", blessed->file_name()}};
    std::string text = concat({"blessed core release ", std::to_string(release), "\n"});
    if (!target->tcti.empty()) {
        auto tpm = floor::TpmFloor::open(target->tcti);
        if (!tpm) return cli::report_error(tpm.error(), options.json);
        auto raised = tpm->raise_to(security_version);
        if (!raised) return cli::report_error(raised.error(), options.json);
        document["floor"] = raised->floor;
        text += concat({"anti-rollback floor: ", std::to_string(raised->floor), "\n"});
    }
    return done(document, text, options.json);
}

int rollback(const SystemOptions& options) {
    auto core = open_core(options);
    if (!core) return cli::report_error(core.error(), options.json);
    const Target* target = &core->target;
    const update::CoreDisk* disk = &core->disk;
    const update::DiskStatus* status = &core->status;
    const update::InstalledEntry* current = update::booted_entry(*status, booted_hash(*target));
    auto previous = update::rollback_entry(*status, booted_hash(*target));
    if (current == nullptr || !previous) {
        return cli::report_error(
            previous ? Error{ErrorCode::not_found, "nothing is booted from this disk"} : previous.error(),
            options.json);
    }
    auto floor_now = read_floor(*target);
    if (!floor_now) return cli::report_error(floor_now.error(), options.json);
    if (*floor_now && (*previous)->image.security_version < (*floor_now)->floor) {
        return cli::report_error(
            {ErrorCode::rollback,
             concat({"core release ", std::to_string((*previous)->entry.release), " has security version ",
                     std::to_string((*previous)->image.security_version), ", below the anti-rollback floor ",
                     std::to_string((*floor_now)->floor), ": the machine may not go back to it"})},
            options.json);
    }
    auto retired = disk->retire(current->entry.release);
    if (!retired) return cli::report_error(retired.error(), options.json);
    return done(
        {{"retired", current->entry.release}, {"next", (*previous)->entry.release}},
        concat({"core release ", std::to_string(current->entry.release),
                " will not be started again; the next boot starts core release ",
                std::to_string((*previous)->entry.release), " (slot ", std::string(1, *(*previous)->slot), ")\n"}),
        options.json);
}

int install(const SystemOptions& options) {
    auto installed = update::install_disk({options.disk, options.bundle, options.keys, options.trusted_root});
    if (!installed) return cli::report_error(installed.error(), options.json);
    auto document = release_json(installed->release);
    document["disk"] = options.disk;
    document["slot_bytes"] = installed->plan.root_slot_bytes;
    document["state_bytes"] = installed->plan.state_bytes;
    return done(document,
                concat({"installed core release ", std::to_string(installed->release.release), " (image ",
                        installed->release.version, ") on ", options.disk,
                        " in slot a; on first boot a machine in Setup Mode enrolls the owner's keys\n"}),
                options.json);
}

}  // namespace

CommandRunner register_system(CLI::App& app) {
    auto options = std::make_shared<SystemOptions>();
    CLI::App* system = app.add_subcommand("system", "Publish, bundle and check system core updates");
    system->require_subcommand(1, 1);

    CLI::App* publish_command =
        system->add_subcommand("publish", "Stage an image built by `bulkhead image build` as a core release");
    publish_command->add_option("--repo", options->repo, "TUF repository directory (bulkhead repo)")->required();
    publish_command->add_option("--image", options->image, "Image directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    publish_command->add_option("--release", options->release, "Release number (orders releases; 1 and up)")
        ->required()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));

    CLI::App* bundle_command =
        system->add_subcommand("bundle", "Write an update bundle from a repository's published tree");
    bundle_command->add_option("--repo", options->repo, "TUF repository directory (bulkhead repo)")->required();
    bundle_command->add_option("--release", options->release, "Release to bundle (default: the newest)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
    bundle_command->add_option("--out", options->out, "Bundle file to create (never overwritten)")->required();

    CLI::App* check_command =
        system->add_subcommand("check-bundle", "Verify an update bundle against a trusted root, changing nothing");
    check_command->add_option("bundle", options->bundle, "Update bundle")->required();
    check_command->add_option("--trusted-root", options->trusted_root, "The root.json the core trusts")
        ->required()
        ->check(CLI::ExistingFile);

    CLI::App* update_command =
        system->add_subcommand("update", "Install a verified update bundle into the other slot, with boot counting");
    update_command->add_option("bundle", options->bundle, "Update bundle: a file, or a disk it was written onto");
    update_command->add_flag("--media", options->media,
                             "Use the update medium attached to this machine (a disk starting with a bundle)");
    update_command->add_option("--trusted-root", options->trusted_root,
                               std::string("The root.json to verify against (default: ") + kCoreTrustedRoot + ")");
    update_command->add_option("--db-cert", options->db_certificate,
                               std::string("The owner's db certificate the kernel image must be signed for (default on "
                                           "the core: ") +
                                   kCoreDbCertificate + ")");
    update_command->add_option("--slot", options->slot, "Slot to write (default: the one not running)")
        ->check(CLI::IsMember({"a", "b"}));
    CLI::App* status_command = system->add_subcommand("status", "Slots, boot entries, tries left and the floor");
    CLI::App* bless_command = system->add_subcommand(
        "bless", "Mark the running release as good (no more tries) and raise the floor to its security version");
    bless_command->add_option("--release", options->release, "With --disk: the release to bless");
    CLI::App* rollback_command = system->add_subcommand(
        "rollback", "Start the release in the other slot from the next boot on, if the floor allows it");
    for (CLI::App* command : {update_command, status_command, bless_command, rollback_command}) {
        command->add_option("--disk", options->disk, "A disk image or device instead of this core's own disk");
        command->add_option("--tcti", options->tcti,
                            "The TPM (tpm2-tss TCTI; default on the core: device:/dev/tpmrm0, with --disk: none)");
    }

    CLI::App* install_command = app.add_subcommand(
        "install", "Install Bulkhead on a disk or disk image from an update bundle, with no network");
    install_command->add_option("--disk", options->disk, "Whole-disk device or disk image file (everything on it goes)")
        ->required();
    install_command->add_option("--bundle", options->bundle, "Update bundle with a boot manager")->required();
    install_command
        ->add_option("--keys", options->keys,
                     "The owner's Secure Boot keys (bulkhead keys secureboot-init): enrolled on first boot")
        ->required()
        ->check(CLI::ExistingDirectory);
    install_command->add_option("--trusted-root", options->trusted_root,
                                "The root.json to verify the bundle against (default: the bundle's oldest root)");

    for (CLI::App* command : {publish_command, bundle_command, check_command, update_command, status_command,
                              bless_command, rollback_command, install_command}) {
        command->add_flag("--json", options->json, "Print the result as JSON");
    }
    return [=]() -> int {
        if (publish_command->parsed()) return publish(*options);
        if (bundle_command->parsed()) return make_bundle(*options);
        if (check_command->parsed()) return check_bundle(*options);
        if (update_command->parsed()) return update_disk(*options);
        if (status_command->parsed()) return status_of_disk(*options);
        if (bless_command->parsed()) return bless(*options);
        if (rollback_command->parsed()) return rollback(*options);
        if (install_command->parsed()) return install(*options);
        return -1;
    };
}

}  // namespace bulkhead::cmd
