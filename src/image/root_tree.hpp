// Assembling the system core's root directory from a spec: exactly the listed files (with the
// shared libraries of those marked `libraries`, found the way the dynamic loader finds them),
// trees, directories and symlinks; everything else is absent.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "image/spec.hpp"

namespace bulkhead::image {

// Where the loader of this machine looks for libraries, in order.
inline const std::vector<std::string> kLibraryDirs = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
                                                      "/usr/lib64"};

// Every shared library the ELF programs need, and the libraries those need, found in
// `library_dirs`, with the dynamic loader they name: paths on this machine, which are also
// where they go in the image.
Result<std::vector<std::string>> library_closure(const std::vector<std::string>& programs,
                                                 const std::vector<std::string>& library_dirs = kLibraryDirs);

// Fills `staging` (an empty directory) with the root the spec describes. Returns the paths in
// the root that were added for libraries.
// `objcopy` strips the files marked `strip`.
Result<std::vector<std::string>> assemble_root(const ImageSpec& spec, const std::string& staging,
                                               const std::string& objcopy,
                                               const std::vector<std::string>& library_dirs = kLibraryDirs);

}  // namespace bulkhead::image
