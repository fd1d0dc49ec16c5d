#include "update/release_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "image/uki.hpp"
#include "initrd/boot_args.hpp"
#include "tuf/trusted_set.hpp"

namespace bulkhead::update {

namespace fs = std::filesystem;

Result<ScratchDir> ScratchDir::make() {
    std::string pattern = (fs::temp_directory_path() / "bulkhead-update-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return fail(Error::from_errno(errno, "creating a scratch directory"));
    return ScratchDir(std::move(pattern));
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

ScratchDir::~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::string ScratchDir::file(const std::string& name) const { return concat({path_, "/", name}); }

Result<void> extract_part(const bundle::Bundle& bundle, const VerifiedPart& part, const std::string& out,
                          const std::string& what) {
    const UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return fail(Error::from_errno(errno, "creating " + out));
    auto check = tuf::LengthAndHashCheck::start(part.target.length, part.target.hashes, what);
    if (!check) return fail(check.error());
    auto copied = bundle.copy_entry(part.entry, fd.get(), [&check](std::string_view chunk) -> Result<void> {
        check->update(chunk);
        return {};
    });
    if (!copied) return fail(copied.error());
    return check->finish();
}

Result<void> check_signed_by(const std::string& efi_binary, const std::string& db_certificate,
                             const std::string& what) {
    auto checked = run_program({"/usr/bin/sbverify", "--cert", db_certificate, efi_binary});
    if (!checked) return fail(checked.error());
    if (checked->exit_code != 0) {
        return fail(ErrorCode::not_signed,
                    concat({what, " is not signed by the owner's db key (", db_certificate, ")"}));
    }
    return {};
}

Result<void> check_kernel_is_release(const std::string& uki, const CoreRelease& release) {
    auto command_line = image::read_uki_command_line(uki);
    if (!command_line) return fail(command_line.error());
    auto args = initrd::parse_boot_args(*command_line);
    if (!args) return fail(ErrorCode::parse, concat({"the release's kernel image: ", args.error().message}));
    if (hex_encode(args->root_hash) != release.root_hash || args->security_version != release.security_version ||
        args->version != release.version) {
        return fail(ErrorCode::integrity, concat({"the kernel image of core release ", std::to_string(release.release),
                                                  " boots another image than its metadata describes"}));
    }
    return {};
}

}  // namespace bulkhead::update
