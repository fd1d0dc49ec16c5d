// From a checked app version to what bulkheadd installs: the app's read-only erofs root and its
// definition. The image is built reproducibly (every file root's, every time zero, a UUID
// derived from the app and version), so two clients that install the same version get the
// same bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "appstore/client.hpp"
#include "appstore/config.hpp"
#include "base/result.hpp"

namespace bulkhead::appstore {

struct BuiltImage {
    PreparedApp prepared;
    std::string image;  // DIR/root.erofs
};

// Prepares `app` (at `version`, or the newest) into DIR/tree, adds the mount points the app VM
// needs (proc, dev, tmp, state, mnt) where the packages did not bring them, writes
// DIR/root.erofs with mkfs.erofs and removes the tree. DIR must be an existing directory of the
// caller's; on failure nothing of this call is left in it.
Result<BuiltImage> build_app_image(AppStore& store, std::string_view app, const std::optional<std::string>& version,
                                   const std::string& dir, const Progress& progress = {},
                                   const std::string& mkfs_erofs = "/usr/bin/mkfs.erofs");

// The app definition (TOML) for bulkheadd: `name`, the manifest's version and run command, the
// image path relative to the definition, and the resources the store configuration gives apps.
Result<std::string> app_definition_text(std::string_view name, const Manifest& manifest, std::string_view image,
                                        const StoreConfig& config);

}  // namespace bulkhead::appstore
