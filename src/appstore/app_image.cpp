#include "appstore/app_image.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <sstream>

#include <toml++/toml.h>

#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::appstore {

namespace {

namespace fs = std::filesystem;

// bulkhead-guest mounts these inside the app's root, which is read-only: they must exist.
constexpr std::array<const char*, 5> kMountPoints = {"proc", "dev", "tmp", "state", "mnt"};

Result<void> add_mount_points(const std::string& tree) {
    const UniqueFd root(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) return fail(Error::from_errno(errno, "opening " + tree));
    for (const char* name : kMountPoints) {
        if (::mkdirat(root.get(), name, 0755) == 0) {
            // Not left to the umask (the worker's is 077): the app's user must enter /state.
            if (::fchmodat(root.get(), name, 0755, 0) != 0)
                return fail(Error::from_errno(errno, "opening /" + std::string(name)));
            continue;
        }
        struct stat existing {};
        if (errno != EEXIST || ::fstatat(root.get(), name, &existing, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(existing.st_mode)) {
            return fail(ErrorCode::invalid_argument,
                        std::string("the app's packages deliver /") + name +
                            " as something other than a directory; the app VM mounts a file system there");
        }
    }
    return {};
}

// A UUID (version 8, RFC 9562's custom form) from the app and version: the same version always
// gets the same image.
std::string image_uuid(std::string_view app, std::string_view version) {
    std::string hex = hex_encode(crypto::digest(
        crypto::HashAlgorithm::sha256, "bulkhead app image\n" + std::string(app) + "\n" + std::string(version)));
    hex[12] = '8';
    hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
           hex.substr(20, 12);
}

}  // namespace

Result<BuiltImage> build_app_image(AppStore& store, std::string_view app, const std::optional<std::string>& version,
                                   const std::string& dir, const Progress& progress, const std::string& mkfs_erofs) {
    const std::string tree = dir + "/tree";
    const std::string image = dir + "/root.erofs";
    std::error_code ignored;
    auto clean_up = [&](const Error& error) -> Result<BuiltImage> {
        fs::remove_all(tree, ignored);
        (void)::unlink(image.c_str());
        return fail(error);
    };
    if (::mkdir(tree.c_str(), 0700) != 0) return fail(Error::from_errno(errno, "creating " + tree));
    auto prepared = store.prepare(app, version, tree, progress);
    if (!prepared) return clean_up(prepared.error());
    if (auto added = add_mount_points(tree); !added) return clean_up(added.error());
    // The tree was private while it was built; in the image its root is the VM's "/", which the
    // app's user must be able to enter.
    if (::chmod(tree.c_str(), 0755) != 0) return clean_up(Error::from_errno(errno, "opening " + tree));
    if (progress) progress({"image", std::string(app), 0, 1});
    auto built = run_program_checked(
        {mkfs_erofs, "--quiet", "--all-root", "-T0", "-U", image_uuid(app, prepared->manifest.version), image, tree},
        {.as = std::nullopt, .inherit = {}, .view = -1, .timeout_seconds = 3600});
    if (!built) return clean_up(built.error());
    if (progress) progress({"image", std::string(app), 1, 1});
    fs::remove_all(tree, ignored);
    if (ignored) return clean_up({ErrorCode::io, "removing " + tree + ": " + ignored.message()});
    return BuiltImage{std::move(prepared).value(), image};
}

Result<std::string> app_definition_text(std::string_view name, const Manifest& manifest, std::string_view image,
                                        const StoreConfig& config) {
    if (manifest.command.empty() || manifest.command.front() != '/') {
        return fail(ErrorCode::invalid_argument, "the closure manifest of " + manifest.app + " " + manifest.version +
                                                     " names no absolute command to run");
    }
    toml::array args;
    for (const auto& arg : manifest.args) args.push_back(arg);
    // toml++ writes strings escaped, so nothing from the manifest can add a key.
    const toml::table definition{
        {"name", std::string(name)},
        {"version", manifest.version},
        {"image", std::string(image)},
        {"run", toml::table{{"command", manifest.command}, {"args", std::move(args)}}},
        {"resources", toml::table{{"memory_mib", static_cast<std::int64_t>(config.memory_mib)},
                                  {"vcpus", static_cast<std::int64_t>(config.vcpus)},
                                  {"state_disk_mib", static_cast<std::int64_t>(config.state_disk_mib)}}},
    };
    std::ostringstream text;
    text << definition << "\n";
    return text.str();
}

}  // namespace bulkhead::appstore
