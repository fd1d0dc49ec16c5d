#include "apps/installer.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>   // NOLINT(modernize-deprecated-headers): renameat2 and RENAME_EXCHANGE live here
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): mkdtemp
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <set>

#include "apps/image_import.hpp"
#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::apps {

namespace {

namespace fs = std::filesystem;

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

// groupadd, useradd and friends refuse at once when another of them holds /etc/passwd's or
// /etc/group's lock; that is worth a few more tries.
Result<ProgramOutput> run_account_tool(const std::vector<std::string>& argv) {
    for (int attempt = 0;; ++attempt) {
        auto output = run_program(argv, {.as = std::nullopt, .inherit = {}, .view = -1, .timeout_seconds = 60});
        if (!output) return output;
        const bool locked = output->exit_code != 0 && output->err.find("lock") != std::string::npos;
        if (!locked || attempt >= 20) return run_program_checked_output(argv, std::move(*output));
        ::usleep(100000);
    }
}

Result<void> own(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
    if (::chown(path.c_str(), uid, gid) != 0 || ::chmod(path.c_str(), mode) != 0) {
        return fail(Error::from_errno(errno, "setting the owner of " + path));
    }
    return {};
}

std::string pending_dir(const std::string& state_dir) { return state_dir + "/pending"; }

void delete_account(const HostTools& tools, const std::string& user) {
    (void)run_account_tool({tools.userdel, user});
    (void)run_account_tool({tools.groupdel, user});
}

}  // namespace

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

std::string app_dir(const std::string& state_dir, const std::string& name) { return state_dir + "/apps/" + name; }

Result<AppRecord> add_app(const std::string& state_dir, const std::string& definition_path, const HostTools& tools,
                          const std::function<bool(const std::string&)>& is_running, bool replace) {
    // 1. Everything is checked first.
    auto text = read_file_bounded(definition_path, kMaxDefinitionBytes);
    if (!text) return fail(text.error());
    auto definition = parse_app_definition(*text, definition_path);
    if (!definition) return fail(definition.error());
    auto registry = Registry::load(state_dir);
    if (!registry) return fail(registry.error());
    const AppRecord* existing = registry->find(definition->name);
    if (existing != nullptr && existing->state == InstallState::installed) {
        if (!replace) {
            return fail(ErrorCode::invalid_argument, "an app named " + definition->name + " is installed already");
        }
        if (is_running && is_running(definition->name)) {
            return fail(ErrorCode::invalid_argument, definition->name + " is running; stop it first");
        }
    }
    if (auto checked = check_image_path(definition->image); !checked) {
        return fail(ErrorCode::invalid_argument, concat({definition_path, ": image ", checked.error().message}));
    }
    const fs::path definition_dir = fs::path(definition_path).parent_path();
    const UniqueFd definition_dir_fd(
        ::open(definition_dir.empty() ? "." : definition_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!definition_dir_fd.valid()) {
        return fail(Error::from_errno(errno, "opening the directory of " + definition_path));
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
    const std::string pending = pending_dir(state_dir) + "/" + definition->name;
    std::error_code error;
    auto abandon = [&](const Error& failure) -> Result<AppRecord> {
        fs::remove_all(temp, error);
        if (created_user) delete_account(tools, user);
        (void)::unlink(pending.c_str());
        return fail(failure);
    };
    if (auto imported =
            import_root_image(definition_dir_fd.get(), definition_path, definition->image, temp + "/root.erofs",
                              ImportTools{.mkfs_erofs = tools.mkfs_erofs, .dd = tools.dd});
        !imported) {
        return abandon(imported.error());
    }
    if (auto written = write_file_atomically(temp + "/app.toml", *text, 0600); !written)
        return abandon(written.error());
    const std::string final_dir = app_dir(state_dir, definition->name);
    const bool keep_state = reusing && fs::exists(final_dir + "/state.img");
    if (definition->state_disk_mib > 0 && !keep_state) {
        const std::string state = temp + "/state.img";
        const UniqueFd fd(::open(state.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!fd.valid()) return abandon(Error::from_errno(errno, "creating the state disk"));
        // Every block is reserved now: a VM filling its disk can never find the host's file
        // system full, and an app that does not fit is refused here rather than later.
        const std::string size = std::to_string(definition->state_disk_mib) + " MiB";
        if (const int reserved = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(definition->state_disk_mib) << 20);
            reserved != 0) {
            return abandon(reserved == ENOSPC ? Error{ErrorCode::io, "not enough free space in " + state_dir +
                                                                         " for a state disk of " + size}
                                              : Error::from_errno(reserved, "reserving the state disk of " + size));
        }
        // nodiscard: mke2fs would otherwise punch the reservation back out of the file.
        auto formatted = run_program_checked(
            {tools.mkfs_ext4, "-q", "-F", "-L", "state", "-E",
             "nodiscard,root_owner=" + std::to_string(kGuestAppUid) + ":" + std::to_string(kGuestAppUid), state});
        if (!formatted) return abandon(formatted.error());
    }

    // 3. The host identity, then ownership, then everything moves into place. A crash from
    // here until the registry names the app leaves a note in STATE/pending that
    // recover_interrupted_adds finds, so no account outlives an add that did not finish.
    if (::mkdir(pending_dir(state_dir).c_str(), 0700) != 0 && errno != EEXIST) {
        return abandon(Error::from_errno(errno, "creating " + pending_dir(state_dir)));
    }
    if (auto noted = write_file_atomically(pending, user + "\n", 0600); !noted) return abandon(noted.error());
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
    // Only the state disk is the app's to write. The image and the directory are root's, and
    // the app's group may read them (its VMM opens the image); the definition is root's alone.
    if (auto owned = own(temp + "/root.erofs", 0, *uid, 0640); !owned) return abandon(owned.error());
    if (fs::exists(temp + "/state.img")) {
        if (auto owned = own(temp + "/state.img", *uid, *uid, 0600); !owned) return abandon(owned.error());
    }
    if (auto owned = own(temp, 0, *uid, 0750); !owned) return abandon(owned.error());
    // The new directory takes the old one's place in one step (an exchange, so a crash leaves
    // either version whole); the data comes along as a hard link to the same state disk.
    const bool replacing = fs::exists(final_dir);
    if (keep_state && ::link((final_dir + "/state.img").c_str(), (temp + "/state.img").c_str()) != 0) {
        return abandon(Error::from_errno(errno, "keeping the state disk of " + definition->name));
    }
    if (replacing) {
        if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) != 0) {
            return abandon(Error::from_errno(errno, "replacing " + final_dir));
        }
    } else if (::rename(temp.c_str(), final_dir.c_str()) != 0) {
        return abandon(Error::from_errno(errno, "creating " + final_dir));
    }
    AppRecord record{definition->name, *uid, definition->version, InstallState::installed};
    registry->put(record);
    if (auto saved = registry->save(); !saved) {
        // The old version comes back as it was; a new app goes entirely.
        if (replacing) {
            if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) != 0) {
                // temp holds the old version now: it must not be deleted. The new files stay in
                // place under the old record; the next add of this app replaces them.
                (void)::unlink(pending.c_str());
                return fail(saved.error().code, saved.error().message + "; the previous version of " +
                                                    definition->name + " is kept in " + temp);
            }
        } else {
            fs::remove_all(final_dir, error);
        }
        return abandon(saved.error());
    }
    fs::remove_all(temp, error);  // the version replaced
    (void)::unlink(pending.c_str());
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
    if (name_exists(user)) delete_account(tools, user);
    registry->erase(name);
    return registry->save();
}

Result<std::vector<std::string>> recover_interrupted_adds(const std::string& state_dir, const HostTools& tools) {
    std::vector<std::string> undone;
    std::error_code error;
    const std::string notes = pending_dir(state_dir);
    if (fs::exists(notes, error)) {
        auto registry = Registry::load(state_dir);
        if (!registry) return fail(registry.error());
        for (const auto& entry : fs::directory_iterator(notes, error)) {
            const std::string name = entry.path().filename().string();
            // The registry names the app: the add finished, or the app existed before it.
            if (check_app_name(name) && registry->find(name) == nullptr) {
                const std::string user = host_user_name(name);
                if (name_exists(user)) delete_account(tools, user);
                fs::remove_all(app_dir(state_dir, name), error);
                undone.push_back(name);
            }
            (void)::unlink(entry.path().c_str());
        }
        if (error) return fail(ErrorCode::io, "reading " + notes + ": " + error.message());
    }
    const std::string apps = state_dir + "/apps";
    if (fs::exists(apps, error)) {
        for (const auto& entry : fs::directory_iterator(apps, error)) {
            if (entry.path().filename().string().starts_with(".new-")) fs::remove_all(entry.path(), error);
        }
    }
    return undone;
}

}  // namespace bulkhead::apps
