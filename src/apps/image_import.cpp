#include "apps/image_import.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::apps {

namespace {

constexpr std::uint32_t kErofsMagic = 0xE0F5E1E2;
constexpr off_t kErofsSuperblockOffset = 1024;
constexpr std::size_t kMaxImagePathBytes = 1024;
constexpr int kImportSeconds = 600;

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Removes a file this module created unless told it is to stay.
class RemoveOnFailure {
public:
    explicit RemoveOnFailure(std::string path) : path_(std::move(path)) {}
    RemoveOnFailure(const RemoveOnFailure&) = delete;
    RemoveOnFailure& operator=(const RemoveOnFailure&) = delete;
    ~RemoveOnFailure() {
        if (!keep_) (void)::unlink(path_.c_str());
    }
    void keep() { keep_ = true; }

private:
    std::string path_;
    bool keep_ = false;
};

Result<UniqueFd> open_beneath(int dir, const std::string& path, const std::string& described) {
    open_how how{};
    // openat2 refuses O_PATH combined with anything but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    long fd = -1;
    do {
        fd = ::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how);
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == ENOENT) return fail(ErrorCode::not_found, described + " does not exist");
    if (errno == EXDEV)
        return fail(ErrorCode::permission_denied, described + " leads outside the definition's directory");
    return fail(Error::from_errno(errno, "opening " + described));
}

Result<void> check_erofs(int fd, const std::string& described) {
    std::array<unsigned char, 4> magic{};
    if (::pread(fd, magic.data(), magic.size(), kErofsSuperblockOffset) != 4 ||
        (static_cast<std::uint32_t>(magic[0]) | static_cast<std::uint32_t>(magic[1]) << 8U |
         static_cast<std::uint32_t>(magic[2]) << 16U | static_cast<std::uint32_t>(magic[3]) << 24U) != kErofsMagic) {
        return fail(ErrorCode::invalid_argument, described + " is not an erofs file system");
    }
    return {};
}

}  // namespace

Result<void> check_image_path(const std::string& image) {
    if (image.empty() || image.size() > kMaxImagePathBytes) {
        return fail(ErrorCode::invalid_argument, "must be a path of 1 to 1024 bytes");
    }
    if (image.front() == '/')
        return fail(ErrorCode::invalid_argument, "must be relative to the definition's directory");
    std::size_t start = 0;
    while (start <= image.size()) {
        const std::size_t end = std::min(image.find('/', start), image.size());
        const std::string_view part = std::string_view(image).substr(start, end - start);
        if (part.empty() || part == "." || part == "..") {
            return fail(ErrorCode::invalid_argument, "must not have empty, '.' or '..' components");
        }
        if (part.find('\0') != std::string_view::npos) return fail(ErrorCode::invalid_argument, "must not hold NUL");
        start = end + 1;
    }
    return {};
}

Result<void> import_root_image(int definition_dir, const std::string& definition_path, const std::string& image,
                               const std::string& destination, const ImportTools& tools) {
    const std::string described = concat({"the image ", image, " named by ", definition_path});
    if (auto checked = check_image_path(image); !checked) {
        return fail(ErrorCode::invalid_argument, concat({definition_path, ": image ", checked.error().message}));
    }
    auto source = open_beneath(definition_dir, image, described);
    if (!source) return fail(source.error());
    struct stat info {};
    if (::fstat(source->get(), &info) != 0) return fail(Error::from_errno(errno, "reading " + described));
    const bool tree = S_ISDIR(info.st_mode);
    if (!tree && !S_ISREG(info.st_mode)) {
        return fail(ErrorCode::invalid_argument, described + " is neither a directory tree nor an erofs file");
    }
    if (!tree && info.st_size > kMaxRootImageBytes) {
        return fail(ErrorCode::too_large, described + " is larger than 16 GiB");
    }
    // Whoever owns the image decides what can be read from it.
    const Credentials owner{info.st_uid, info.st_gid};

    // The reader writes into a scratch file it owns; nothing it could have kept open reaches the
    // destination, which is a copy made here.
    const std::string scratch = destination + ".import";
    const UniqueFd scratch_fd(::open(scratch.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!scratch_fd.valid()) return fail(Error::from_errno(errno, "creating " + scratch));
    const RemoveOnFailure scratch_goes(scratch);
    if (::fchown(scratch_fd.get(), owner.uid, owner.gid) != 0) {
        return fail(Error::from_errno(errno, "handing " + scratch + " to the image's owner"));
    }
    // Bounded in time and size: the owner can stop or feed the reader, but not hold bulkheadd.
    RunOptions as_owner{.as = owner,
                        .inherit = {source->get(), scratch_fd.get()},
                        .view = -1,
                        .timeout_seconds = kImportSeconds,
                        .max_file_bytes = static_cast<std::uint64_t>(kMaxRootImageBytes)};
    const std::string owner_text = concat({"uid ", std::to_string(owner.uid), ", gid ", std::to_string(owner.gid)});
    if (tree) {
        // mkfs.erofs reads its source by path: it gets a path nobody else can change, the very
        // directory opened above, read-only, in a mount namespace of its own.
        as_owner.view = source->get();
        auto made = run_program_checked(
            {tools.mkfs_erofs, "--quiet", "--all-root", "-T0", proc_path(scratch_fd.get()), kReadOnlyViewPath},
            as_owner);
        if (!made) {
            return fail(ErrorCode::io, concat({"building an erofs image from ", described, " as its owner (",
                                               owner_text, "): ", made.error().message}));
        }
    } else {
        auto copied = run_program_checked(
            {tools.dd, "if=" + proc_path(source->get()), "of=" + proc_path(scratch_fd.get()), "bs=1M", "status=none"},
            as_owner);
        if (!copied) {
            return fail(ErrorCode::io,
                        concat({"reading ", described, " as its owner (", owner_text, "): ", copied.error().message}));
        }
    }

    const UniqueFd out(::open(destination.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out.valid()) return fail(Error::from_errno(errno, "creating " + destination));
    RemoveOnFailure destination_goes(destination);
    off_t total = 0;
    auto copied = read_fd_chunks(scratch_fd.get(), scratch, [&](std::string_view chunk) -> Result<void> {
        total += static_cast<off_t>(chunk.size());
        if (total > kMaxRootImageBytes) return fail(ErrorCode::too_large, described + " makes an image over 16 GiB");
        return write_all(out.get(), chunk, destination);
    });
    if (!copied) return fail(copied.error());
    if (auto erofs = check_erofs(out.get(), described); !erofs) return fail(erofs.error());
    if (::fsync(out.get()) != 0) return fail(Error::from_errno(errno, "writing " + destination));
    destination_goes.keep();
    return {};
}

}  // namespace bulkhead::apps
