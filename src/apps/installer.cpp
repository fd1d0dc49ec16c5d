#include "apps/installer.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): mkdtemp
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <set>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::apps {

namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kErofsMagic = 0xE0F5E1E2;
constexpr off_t kErofsSuperblockOffset = 1024;

bool account_exists(uid_t uid) {
    // getpwuid_r/getgrgid_r: the daemon is single-threaded, but the reentrant forms cost nothing.
    passwd pw{};
    group gr{};
    std::array<char, 16384> buffer{};
    passwd* pw_found = nullptr;
    group* gr_found = nullptr;
    ::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &pw_found);
    ::getgrgid_r(uid, &gr, buffer.data(), buffer.size(), &gr_found);
    return pw_found != nullptr || gr_found != nullptr;
}

bool name_exists(const std::string& name) {
    passwd pw{};
    group gr{};
    std::array<char, 16384> buffer{};
    passwd* pw_found = nullptr;
    group* gr_found = nullptr;
    ::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &pw_found);
    ::getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &gr_found);
    return pw_found != nullptr || gr_found != nullptr;
}

Result<void> check_erofs(const std::string& path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening the image " + path));
    std::array<unsigned char, 4> magic{};
    if (::pread(fd.get(), magic.data(), magic.size(), kErofsSuperblockOffset) != 4 ||
        (static_cast<std::uint32_t>(magic[0]) | static_cast<std::uint32_t>(magic[1]) << 8U |
         static_cast<std::uint32_t>(magic[2]) << 16U | static_cast<std::uint32_t>(magic[3]) << 24U) != kErofsMagic) {
        return fail(ErrorCode::invalid_argument, "the image " + path + " is not an erofs file system");
    }
    return {};
}

// groupadd, useradd and friends refuse at once when another of them holds /etc/passwd's or
// /etc/group's lock; that is worth a few more tries.
Result<ProgramOutput> run_account_tool(const std::vector<std::string>& argv) {
    for (int attempt = 0;; ++attempt) {
        auto output = run_program(argv);
        if (!output) return output;
        const bool locked = output->exit_code != 0 && output->err.find("lock") != std::string::npos;
        if (!locked || attempt >= 20) return run_program_checked_output(argv, std::move(*output));
        ::usleep(100000);
    }
}

Result<void> own(const std::string& path, uid_t uid, mode_t mode) {
    if (::chown(path.c_str(), uid, uid) != 0 || ::chmod(path.c_str(), mode) != 0) {
        return fail(Error::from_errno(errno, "setting the owner of " + path));
    }
    return {};
}

}  // namespace

std::string app_dir(const std::string& state_dir, const std::string& name) { return state_dir + "/apps/" + name; }

Result<AppRecord> add_app(const std::string& state_dir, const std::string& definition_path, const HostTools& tools) {
    // 1. Everything is checked first.
    auto text = read_file_bounded(definition_path, kMaxDefinitionBytes);
    if (!text) return fail(text.error());
    auto definition = parse_app_definition(*text, definition_path);
    if (!definition) return fail(definition.error());
    auto registry = Registry::load(state_dir);
    if (!registry) return fail(registry.error());
    const AppRecord* existing = registry->find(definition->name);
    if (existing != nullptr && existing->state == InstallState::installed) {
        return fail(ErrorCode::invalid_argument, "an app named " + definition->name + " is installed already");
    }
    const fs::path image = fs::path(definition_path).parent_path() / definition->image;
    std::error_code error;
    const fs::file_status image_status = fs::status(image, error);
    if (!fs::exists(image_status)) {
        return fail(ErrorCode::not_found,
                    "the image " + image.string() + " named by " + definition_path + " does not exist");
    }
    const bool from_tree = fs::is_directory(image_status);
    if (!from_tree) {
        if (auto erofs = check_erofs(image.string()); !erofs) return fail(erofs.error());
    }
    const std::string user = host_user_name(definition->name);
    const bool reusing = existing != nullptr;
    if (!reusing && name_exists(user)) {
        return fail(ErrorCode::invalid_argument, "a host user or group named " + user + " exists already");
    }
    auto uid = reusing ? Result<uid_t>(existing->uid) : registry->allocate_uid(account_exists);
    if (!uid) return fail(uid.error());

    // 2. The files, built in a temporary directory beside their final place.
    const std::string apps = state_dir + "/apps";
    if (::mkdir(state_dir.c_str(), 0755) != 0 && errno != EEXIST)
        return fail(Error::from_errno(errno, "creating " + state_dir));
    if (::mkdir(apps.c_str(), 0755) != 0 && errno != EEXIST) return fail(Error::from_errno(errno, "creating " + apps));
    std::string temp = apps + "/.new-" + definition->name + "-XXXXXX";
    if (::mkdtemp(temp.data()) == nullptr) return fail(Error::from_errno(errno, "creating a directory in " + apps));
    bool created_user = false;
    auto abandon = [&](const Error& failure) -> Result<AppRecord> {
        fs::remove_all(temp, error);
        if (created_user) {
            (void)run_account_tool({tools.userdel, user});
            (void)run_account_tool({tools.groupdel, user});
        }
        return fail(failure);
    };
    const std::string root_image = temp + "/root.erofs";
    if (from_tree) {
        auto made = run_program_checked({tools.mkfs_erofs, "--quiet", "--all-root", "-T0", root_image, image.string()});
        if (!made) return abandon(made.error());
    } else {
        fs::copy_file(image, root_image, error);
        if (error) return abandon({ErrorCode::io, "copying " + image.string() + ": " + error.message()});
    }
    if (auto written = write_file_atomically(temp + "/app.toml", *text, 0600); !written)
        return abandon(written.error());
    const std::string final_dir = app_dir(state_dir, definition->name);
    const bool keep_state = reusing && fs::exists(final_dir + "/state.img");
    if (definition->state_disk_mib > 0 && !keep_state) {
        const std::string state = temp + "/state.img";
        const UniqueFd fd(::open(state.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(definition->state_disk_mib) << 20) != 0) {
            return abandon(Error::from_errno(errno, "creating the state disk"));
        }
        auto formatted = run_program_checked(
            {tools.mkfs_ext4, "-q", "-F", "-L", "state", "-E",
             "root_owner=" + std::to_string(kGuestAppUid) + ":" + std::to_string(kGuestAppUid), state});
        if (!formatted) return abandon(formatted.error());
    }

    // 3. The host identity, then ownership, then everything moves into place.
    if (!reusing || !name_exists(user)) {
        // Another tool may take the chosen id between the check and groupadd: then the next
        // free one is tried (never for an app that keeps its uid).
        std::set<uid_t> taken;
        for (int attempt = 0;; ++attempt) {
            const std::string id = std::to_string(*uid);
            auto group_made = run_account_tool({tools.groupadd, "--system", "--gid", id, user});
            if (!group_made) {
                if (reusing || attempt >= 16 || !account_exists(*uid)) return abandon(group_made.error());
                taken.insert(*uid);
                uid = registry->allocate_uid(
                    [&taken](uid_t candidate) { return taken.contains(candidate) || account_exists(candidate); });
                if (!uid) return abandon(uid.error());
                continue;
            }
            created_user = true;
            auto user_made = run_account_tool({tools.useradd, "--system", "--uid", id, "--gid", id, "--no-create-home",
                                               "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user});
            if (!user_made) return abandon(user_made.error());
            break;
        }
    }
    for (const char* file : {"root.erofs", "app.toml", "state.img"}) {
        const std::string path = temp + "/" + file;
        if (!fs::exists(path)) continue;
        if (auto owned = own(path, *uid, 0600); !owned) return abandon(owned.error());
    }
    if (auto owned = own(temp, *uid, 0700); !owned) return abandon(owned.error());
    if (keep_state) {
        // The data stays; the new image and definition replace the old ones.
        for (const char* file : {"root.erofs", "app.toml"}) {
            if (::rename((temp + "/" + file).c_str(), (final_dir + "/" + file).c_str()) != 0) {
                return abandon(Error::from_errno(errno, "replacing " + std::string(file)));
            }
        }
        fs::remove_all(temp, error);
    } else {
        fs::remove_all(final_dir, error);
        if (::rename(temp.c_str(), final_dir.c_str()) != 0)
            return abandon(Error::from_errno(errno, "creating " + final_dir));
    }
    AppRecord record{definition->name, *uid, definition->version, InstallState::installed};
    registry->put(record);
    if (auto saved = registry->save(); !saved) return fail(saved.error());
    return record;
}

Result<void> remove_app(const std::string& state_dir, const std::string& name, bool purge, const HostTools& tools) {
    auto registry = Registry::load(state_dir);
    if (!registry) return fail(registry.error());
    AppRecord* record = registry->find(name);
    if (record == nullptr || (!purge && record->state == InstallState::removed)) {
        return fail(ErrorCode::not_found, "no app named " + name + " is installed");
    }
    if (!purge) {
        record->state = InstallState::removed;
        return registry->save();
    }
    std::error_code error;
    fs::remove_all(app_dir(state_dir, name), error);
    if (error) return fail(ErrorCode::io, "removing the data of " + name + ": " + error.message());
    const std::string user = host_user_name(name);
    if (name_exists(user)) {
        (void)run_account_tool({tools.userdel, user});
        (void)run_account_tool({tools.groupdel, user});
    }
    registry->erase(name);
    return registry->save();
}

}  // namespace bulkhead::apps
