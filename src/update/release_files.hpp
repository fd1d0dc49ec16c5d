// A release's files taken out of a bundle for use outside the slots (the kernel image and the
// boot manager go onto the EFI system partition): copied into a private scratch directory,
// checked against the signed metadata on the way, then against the owner's Secure Boot key and
// the release they claim to be. Shared by the installer and by updates.
#pragma once

#include <string>

#include "base/result.hpp"
#include "bundle/bundle.hpp"
#include "update/core_release.hpp"
#include "update/verify_bundle.hpp"

namespace bulkhead::update {

// A directory only this process uses, removed with everything in it.
class ScratchDir {
public:
    static Result<ScratchDir> make();
    ScratchDir(ScratchDir&& other) noexcept;
    ScratchDir& operator=(ScratchDir&&) = delete;
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir();

    [[nodiscard]] std::string file(const std::string& name) const;

private:
    explicit ScratchDir(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

// Copies `part` out of the bundle to `out` (which must not exist), checking it against its
// signed length and hashes as it goes; `what` names it in errors.
Result<void> extract_part(const bundle::Bundle& bundle, const VerifiedPart& part, const std::string& out,
                          const std::string& what);

// The firmware checks the same signature; checking it first refuses a file signed for another
// owner before anything is changed. not_signed when it does not verify against `db_certificate`.
Result<void> check_signed_by(const std::string& efi_binary, const std::string& db_certificate, const std::string& what);

// The kernel image's own signed command line must name exactly the release's image.
Result<void> check_kernel_is_release(const std::string& uki, const CoreRelease& release);

}  // namespace bulkhead::update
