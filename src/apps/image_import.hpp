// Bringing an app's root image onto the host. A definition's `image` names a directory tree or
// an erofs file inside the definition's own directory. It is opened once, beneath that
// directory (no `..`, no symlink out of it), and read only with the authority of the user who
// owns it: mkfs.erofs (for a tree) or dd (for an image) runs as that uid and gid, with no other
// groups and no_new_privs. So whoever can write a definition can never have root pack a file
// into an image that the definition's owner could not read. The result is copied into a
// root-owned file that nothing but bulkheadd ever had open.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.hpp"

namespace bulkhead::apps {

struct ImportTools {
    std::string mkfs_erofs = "/usr/bin/mkfs.erofs";
    std::string dd = "/usr/bin/dd";
};

// Largest root image accepted, whether built or copied.
inline constexpr off_t kMaxRootImageBytes = off_t{16} << 30;

// Checks that `image` is a relative path with no empty, `.` or `..` component.
Result<void> check_image_path(const std::string& image);

// Opens `image` beneath `definition_dir` (an O_PATH or O_DIRECTORY descriptor of the directory
// of `definition_path`, which errors name) and writes the erofs image into `destination`, a new
// file (mode 0600, owned by the caller). On failure nothing is left at `destination`.
Result<void> import_root_image(int definition_dir, const std::string& definition_path, const std::string& image,
                               const std::string& destination, const ImportTools& tools = {});

}  // namespace bulkhead::apps
