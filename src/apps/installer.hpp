// Adding and removing apps on the host: each app gets its own system user and group from the
// reserved range, and its files live in STATE/apps/<name>/: the directory (0750) and the
// read-only root image (0640) are root's and readable by the app's group only, the definition is
// root's (0600), and the writable state disk is the app user's (0600). Everything is checked
// before anything is created, and a failure half-way removes what it made: a refused add leaves
// no user and no file. The image is read with its owner's authority (apps/image_import.hpp).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "apps/definition.hpp"
#include "apps/registry.hpp"
#include "base/result.hpp"

namespace bulkhead::apps {

struct HostTools {
    std::string mkfs_erofs = "/usr/bin/mkfs.erofs";
    std::string mkfs_ext4 = "/usr/sbin/mkfs.ext4";
    std::string groupadd = "/usr/sbin/groupadd";
    std::string useradd = "/usr/sbin/useradd";
    std::string userdel = "/usr/sbin/userdel";
    std::string groupdel = "/usr/sbin/groupdel";
    std::string dd = "/usr/bin/dd";
};

// The guest user that owns the state disk's root directory inside the VM (bulkhead-guest runs
// the app as this uid).
inline constexpr unsigned kGuestAppUid = 1000;

// `definition_path` names the TOML file; its `image` is an erofs image or a directory tree
// (made into erofs), relative to the definition's directory.
//
// With `replace`, an installed app of the same name is given the new image and definition and
// keeps its user, data and grants (a version change); `is_running` is asked first, and a
// running app is refused. A refused replace leaves the installed version as it was.
Result<AppRecord> add_app(const std::string& state_dir, const std::string& definition_path, const HostTools& tools = {},
                          const std::function<bool(const std::string&)>& is_running = {}, bool replace = false);

// Without purge, the app is taken off the list but keeps its data, user and uid (adding it again
// brings them back); with purge, data, user and group are deleted and the uid is free again.
Result<void> remove_app(const std::string& state_dir, const std::string& name, bool purge, const HostTools& tools = {});

std::string app_dir(const std::string& state_dir, const std::string& name);

// Whether a host user or group has this id.
bool account_exists(uid_t uid);

// Undoes adds that stopped half-way (bulkheadd killed, power lost): an app that a note in
// STATE/pending names but the registry does not loses its host user, group and files, and
// temporary directories of unfinished adds go. bulkheadd calls it before it serves anyone.
// Returns the names of the apps undone.
Result<std::vector<std::string>> recover_interrupted_adds(const std::string& state_dir, const HostTools& tools = {});

}  // namespace bulkhead::apps
