#include <fcntl.h>
#include <stdio.h>  // NOLINT(modernize-deprecated-headers): renameat2 and RENAME_NOREPLACE live here
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "bundle/bundle.hpp"

namespace bulkhead::bundle {

namespace {

constexpr std::size_t kChunkBytes = std::size_t{1} << 20U;

struct OpenInput {
    const Input* input = nullptr;
    UniqueFd fd;
    std::uint64_t length = 0;
};

// The temporary bundle, removed when the writer gives up on it for any reason.
class TempFile {
public:
    explicit TempFile(std::string path) : path_(std::move(path)) {}
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    TempFile(TempFile&&) = delete;
    TempFile& operator=(TempFile&&) = delete;
    ~TempFile() {
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    [[nodiscard]] const std::string& path() const { return path_; }
    void keep() { path_.clear(); }

private:
    std::string path_;
};

Result<OpenInput> open_input(const Input& input) {
    const std::string_view type = entry_type_name(input.type);
    // O_NONBLOCK so that a FIFO given as an input is refused below instead of hanging the open.
    UniqueFd fd(::open(input.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) return fail(Error::from_errno(errno, concat({"opening the ", type, " input ", input.path})));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        return fail(Error::from_errno(errno, concat({"examining the ", type, " input ", input.path})));
    }
    if (!S_ISREG(info.st_mode)) {
        return fail(ErrorCode::invalid_argument,
                    concat({"the ", type, " input ", input.path, " is not a regular file"}));
    }
    const auto length = static_cast<std::uint64_t>(info.st_size);
    if (length == 0)
        return fail(ErrorCode::invalid_argument, concat({"the ", type, " input ", input.path, " is empty"}));
    // Unknown types have no cap; place_entries refuses them by position.
    if (const std::uint64_t cap = size_cap(input.type); cap != 0 && length > cap) {
        return fail(ErrorCode::too_large, concat({"the ", type, " input ", input.path, " is ", std::to_string(length),
                                                  " bytes, over the cap of ", std::to_string(cap)}));
    }
    return OpenInput{&input, std::move(fd), length};
}

// Copies exactly the input's length, refusing an input that shrank or grew since it was
// measured: its size is already in the header.
Result<void> copy_input(const OpenInput& in, int out_fd, const std::string& out_name, std::vector<char>& buffer) {
    const std::string& path = in.input->path;
    std::uint64_t done = 0;
    while (done < in.length) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(in.length - done, buffer.size()));
        const ssize_t got = ::read(in.fd.get(), buffer.data(), want);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(Error::from_errno(errno, "reading " + path));
        if (got == 0) {
            return fail(ErrorCode::io, concat({path, " shrank while being copied into the bundle (",
                                               std::to_string(done), " of ", std::to_string(in.length), " bytes)"}));
        }
        if (auto written = write_all(out_fd, std::string_view(buffer.data(), static_cast<std::size_t>(got)), out_name);
            !written) {
            return written;
        }
        done += static_cast<std::uint64_t>(got);
    }
    for (;;) {
        char extra = 0;
        const ssize_t got = ::read(in.fd.get(), &extra, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(Error::from_errno(errno, "reading " + path));
        if (got > 0) return fail(ErrorCode::io, concat({path, " grew while being copied into the bundle"}));
        return {};
    }
}

}  // namespace

Result<void> write_bundle(const std::vector<Input>& inputs, const std::string& out_path) {
    const std::filesystem::path target(out_path);
    if (!target.has_filename()) return fail(ErrorCode::invalid_argument, "not a file path: '" + out_path + "'");
    struct stat existing {};
    if (::lstat(out_path.c_str(), &existing) == 0) {
        return fail(ErrorCode::invalid_argument, out_path + " already exists; bundles are never overwritten");
    }
    if (errno != ENOENT) return fail(Error::from_errno(errno, "examining " + out_path));

    std::vector<OpenInput> opened;
    std::vector<Entry> entries;
    opened.reserve(inputs.size());
    entries.reserve(inputs.size());
    for (const Input& input : inputs) {
        auto in = open_input(input);
        if (!in) return fail(in.error());
        entries.push_back(Entry{input.type, 0, in->length});
        opened.push_back(std::move(in).value());
    }
    auto layout = place_entries(std::move(entries));
    if (!layout) return fail(layout.error().code, "bundle inputs: " + layout.error().message);

    const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
    std::string temp_name = concat({dir, "/.", target.filename().string(), ".tmp-XXXXXX"});
    const UniqueFd out(::mkostemp(temp_name.data(), O_CLOEXEC));
    if (!out.valid()) return fail(Error::from_errno(errno, "creating a temporary file in " + dir));
    TempFile temp(temp_name);
    if (::fchmod(out.get(), 0644) != 0) return fail(Error::from_errno(errno, "setting the mode of " + temp.path()));

    if (auto written = write_all(out.get(), encode_header(*layout), temp.path()); !written) return written;
    const std::string zeros(kBlockBytes, '\0');
    std::vector<char> buffer(kChunkBytes);
    for (std::size_t i = 0; i < opened.size(); ++i) {
        if (auto copied = copy_input(opened[i], out.get(), temp.path(), buffer); !copied) return copied;
        if (i + 1 == opened.size()) break;
        const Entry& entry = layout->entries[i];
        const std::uint64_t padding = layout->entries[i + 1].offset - (entry.offset + entry.length);
        if (auto written = write_all(out.get(), std::string_view(zeros).substr(0, padding), temp.path()); !written) {
            return written;
        }
    }
    if (::fsync(out.get()) != 0) return fail(Error::from_errno(errno, "syncing " + temp.path()));
    // NOREPLACE: a file that appeared at out_path since the check above is not overwritten either.
    if (::renameat2(AT_FDCWD, temp.path().c_str(), AT_FDCWD, out_path.c_str(), RENAME_NOREPLACE) != 0) {
        return fail(Error::from_errno(errno, concat({"renaming ", temp.path(), " to ", out_path})));
    }
    temp.keep();
    return sync_directory(dir);
}

}  // namespace bulkhead::bundle
