// Adding and removing apps on the host: each app gets its own system user and group from the
// reserved range, and its files (read-only root image, writable state disk, definition) live in
// STATE/apps/<name>/, owned by that user, 0700 / 0600. Everything is checked before anything is
// created, and a failure half-way removes what it made: a refused add leaves no user and no file.
#pragma once

#include <string>

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
};

// The guest user that owns the state disk's root directory inside the VM (bulkhead-guest runs
// the app as this uid).
inline constexpr unsigned kGuestAppUid = 1000;

// `definition_path` names the TOML file; its `image` is an erofs image or a directory tree
// (made into erofs), relative to the definition's directory.
Result<AppRecord> add_app(const std::string& state_dir, const std::string& definition_path,
                          const HostTools& tools = {});

// Without purge, the app is taken off the list but keeps its data, user and uid (adding it again
// brings them back); with purge, data, user and group are deleted and the uid is free again.
Result<void> remove_app(const std::string& state_dir, const std::string& name, bool purge, const HostTools& tools = {});

std::string app_dir(const std::string& state_dir, const std::string& name);

}  // namespace bulkhead::apps
