// An app definition: what runs in the app's VM and what it would like to be granted. Written
// by people (TOML), read strictly: an unknown key, a wrong type or a value out of range is an
// error naming the key and its line, never ignored.
//
//   name = "hello"                        # [a-z][a-z0-9-]*, at most 24 characters
//   version = "1.0"
//   image = "hello.erofs"                 # root file system: an erofs image or a directory
//   [run]
//   command = "/bin/busybox"              # absolute path inside the VM
//   args = ["httpd", "-f", "-p", "8080"]
//   env = { GREETING = "hello" }
//   restart = "never"                     # never | on-failure | always
//   [resources]
//   memory_mib = 256                      # 64 to 16384
//   vcpus = 1                             # 1 to 16
//   state_disk_mib = 64                   # 0 (none) to 65536
//   [permissions]
//   request = ["network"]                 # informational; every permission starts denied
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "permissions/kinds.hpp"

namespace bulkhead::apps {

inline constexpr std::size_t kMaxDefinitionBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxAppNameBytes = 24;

enum class RestartPolicy { never, on_failure, always };
std::string_view restart_policy_name(RestartPolicy policy) noexcept;

struct AppDefinition {
    std::string name;
    std::string version;
    std::string image;  // as written; relative paths are relative to the definition's directory
    std::string command;
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env;  // sorted by name, names unique
    RestartPolicy restart = RestartPolicy::never;
    std::uint32_t memory_mib = 256;
    std::uint32_t vcpus = 1;
    std::uint32_t state_disk_mib = 64;
    std::set<permissions::Kind> requested;
};

// `source` names the text in messages (usually its file name).
Result<AppDefinition> parse_app_definition(std::string_view text, std::string_view source);

// [a-z][a-z0-9-]*[a-z0-9]? of at most kMaxAppNameBytes: usable in a host user name
// ("bh-" + name), a file name and a cgroup name as it is.
Result<void> check_app_name(std::string_view name);

}  // namespace bulkhead::apps
