// The app client's persistent configuration (STORE.toml, by default
// /etc/bulkhead/appstore.toml), read strictly like every Bulkhead TOML file:
//
//   metadata_url = "https://apps.example/metadata/"   # the TUF repository
//   targets_url = "https://apps.example/targets/"     # its targets, the mirror of last resort
//   trusted_root = "/etc/bulkhead/appstore/root.json" # the root the first refresh starts from
//   state_dir = "/var/lib/bulkhead/appstore"          # metadata, downloads, install records
//   patch_policy = "require"                          # require | warn
//   package_mirrors = true                            # try the curator's mirror URLs first
//   proxy = "socks5h://127.0.0.1:9050"                # optional: onion mirrors
//   ca_file = "/etc/bulkhead/appstore/ca.pem"         # optional: a private mirror's CA
//   worker_uid = 599999                               # the unprivileged uid that downloads and unpacks
//   [rebuilders]
//   keys = ["/etc/bulkhead/rebuilders/a.pub"]         # in-toto JSON public keys
//   threshold = 1
//   [apps]                                            # resources of the apps it installs
//   memory_mib = 512
//   vcpus = 1
//   state_disk_mib = 256
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appstore/client.hpp"
#include "base/result.hpp"

namespace bulkhead::appstore {

inline constexpr std::size_t kMaxStoreConfigBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxRebuilderKeys = 64;
// Just below the uids reserved for apps (apps/registry.hpp): no account and no app may have it.
inline constexpr uid_t kDefaultWorkerUid = 599999;

struct StoreConfig {
    std::string metadata_url;
    std::string targets_url;
    std::string trusted_root;
    std::string state_dir = "/var/lib/bulkhead/appstore";
    PatchPolicy patches = PatchPolicy::require;
    bool use_package_mirrors = true;
    std::string proxy;
    std::string ca_file;
    uid_t worker_uid = kDefaultWorkerUid;
    std::vector<std::string> rebuilder_keys;  // absolute paths
    std::size_t rebuilder_threshold = 1;
    std::uint32_t memory_mib = 512;
    std::uint32_t vcpus = 1;
    std::uint32_t state_disk_mib = 256;
};

// `source` names the text in messages. URLs must be file://, http:// or https:// and end in
// "/"; paths must be absolute; the proxy must be socks5h://HOST:PORT.
Result<StoreConfig> parse_store_config(std::string_view text, std::string_view source);

}  // namespace bulkhead::appstore
