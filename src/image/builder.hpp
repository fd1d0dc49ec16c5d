// `bulkhead image build`: from a spec to the artifacts of one system core image, all derived
// reproducibly from the inputs (fixed timestamps, salt and UUIDs from the content):
//   root.erofs    the read-only root file system
//   root.verity   its dm-verity hash tree (our own code; equal to veritysetup's)
//   initrd.cpio   bulkhead-initrd as /init and the modules it loads
//   bulkhead.efi  the unified kernel image (systemd's EFI stub with .osrel, .cmdline carrying
//                 the root hash and version, .linux, .initrd), signed with the owner's db key
//   disk.img      a GPT disk: ESP (the signed UKI as EFI/BOOT/BOOTX64.EFI), root-a, verity-a,
//                 root-b and verity-b (empty), state (a placeholder); the root and verity
//                 partitions' UUIDs are the halves of the root hash
//   manifest.json version, root hash, and the size and SHA-256 of each artifact
// The output directory appears only when everything in it is complete.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "image/spec.hpp"

namespace bulkhead::image {

struct BuildTools {
    std::string mkfs_erofs = "/usr/bin/mkfs.erofs";
    std::string objcopy = "/usr/bin/objcopy";
    std::string sbsign = "/usr/bin/sbsign";
    std::string mkfs_vfat = "/usr/sbin/mkfs.vfat";
    std::string mmd = "/usr/bin/mmd";
    std::string mcopy = "/usr/bin/mcopy";
};

// The db key the UKI is signed with. The private key never touches a disk: sbsign reads it
// from an anonymous memory file.
struct SigningIdentity {
    std::string private_key_pem;
    std::string certificate_pem;
};

struct BuiltImage {
    std::string version;
    std::string root_hash;  // hex
    std::string command_line;
};

// Where the builder puts the owner's db certificate and the TUF root updates are verified
// against (the spec may put nothing there).
inline constexpr const char* kDbCertificatePath = "/usr/share/bulkhead/secureboot/db.crt";
inline constexpr const char* kUpdateRootPath = "/usr/share/bulkhead/update/root.json";

// `update_root`: the contents of the TUF root.json the core trusts for its updates (the caller
// checks it is one); empty: the image has none, and `bulkhead system update` on it needs
// --trusted-root.
Result<BuiltImage> build_image(const ImageSpec& spec, const std::string& out_dir, const SigningIdentity& db,
                               const BuildTools& tools = {}, std::string_view update_root = {});

}  // namespace bulkhead::image
