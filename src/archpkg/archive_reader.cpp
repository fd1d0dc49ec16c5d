#include "archpkg/archive_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <vector>

#include "base/text.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::archpkg {

namespace {

constexpr std::size_t kBufferBytes = std::size_t{256} << 10U;

// Package and database names are UTF-8. libarchive converts names through the current locale,
// which in our processes is "C" (ASCII), so every libarchive call runs with this thread's locale
// switched to C.UTF-8: names pass unchanged, and a name that is not valid UTF-8 has no path.
class Utf8LocaleScope {
public:
    Utf8LocaleScope() noexcept {
        static const locale_t kUtf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
        if (kUtf8 != nullptr) previous_ = ::uselocale(kUtf8);
    }
    ~Utf8LocaleScope() {
        if (previous_ != nullptr) ::uselocale(previous_);
    }
    Utf8LocaleScope(const Utf8LocaleScope&) = delete;
    Utf8LocaleScope& operator=(const Utf8LocaleScope&) = delete;
    Utf8LocaleScope(Utf8LocaleScope&&) = delete;
    Utf8LocaleScope& operator=(Utf8LocaleScope&&) = delete;

private:
    locale_t previous_ = nullptr;
};

}  // namespace

struct ArchiveReader::State {
    archive* handle = nullptr;
    std::uint64_t raw_bytes = 0;
    std::size_t entries = 0;
    std::uint64_t data_bytes = 0;
    std::int64_t current_size = 0;
    std::string_view memory;
    ArchiveLimits limits;
    std::vector<char> buffer;
    std::optional<crypto::Hasher> sha256;
    std::optional<crypto::Hasher> sha512;
    std::string what;
    Format format = Format::tar;
    int fd = -1;
    bool memory_given = false;
    bool raw_too_large = false;
    bool have_entry = false;
    bool size_known = true;
    bool at_end = false;

    ~State() {
        if (handle != nullptr) archive_read_free(handle);
    }
    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    State(State&&) = delete;
    State& operator=(State&&) = delete;

    Result<std::size_t> read_raw(char* into, std::size_t capacity) {
        ssize_t got = 0;
        do {
            got = ::read(fd, into, capacity);
        } while (got < 0 && errno == EINTR);
        if (got < 0) return fail(Error::from_errno(errno, "reading " + what));
        const auto count = static_cast<std::size_t>(got);
        raw_bytes += count;
        if (raw_bytes > limits.max_raw_bytes) {
            raw_too_large = true;
            return fail(ErrorCode::too_large,
                        concat({what, " is larger than ", std::to_string(limits.max_raw_bytes), " bytes"}));
        }
        if (sha256) sha256->update({into, count});
        if (sha512) sha512->update({into, count});
        return count;
    }

    Failure archive_failure(std::string_view doing) const {
        if (raw_too_large) {
            return fail(ErrorCode::too_large,
                        concat({what, " is larger than ", std::to_string(limits.max_raw_bytes), " bytes"}));
        }
        const char* message = handle == nullptr ? nullptr : archive_error_string(handle);
        return fail(ErrorCode::parse,
                    concat({what, ": ", doing, ": ", message == nullptr ? "unknown error" : message}));
    }
};

namespace {

la_ssize_t read_callback(archive* handle, void* client, const void** buffer) {
    auto* state = static_cast<ArchiveReader::State*>(client);
    if (state->fd < 0) {
        if (state->memory_given) return 0;
        state->memory_given = true;
        *buffer = state->memory.data();
        return static_cast<la_ssize_t>(state->memory.size());
    }
    auto got = state->read_raw(state->buffer.data(), state->buffer.size());
    if (!got) {
        archive_set_error(handle, EIO, "%s", got.error().message.c_str());
        return -1;
    }
    *buffer = state->buffer.data();
    return static_cast<la_ssize_t>(*got);
}

}  // namespace

ArchiveReader::ArchiveReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
ArchiveReader::~ArchiveReader() = default;

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::open_fd(int fd, std::string what, Format format,
                                                              const ArchiveLimits& limits, bool hash_raw) {
    auto state = std::make_unique<State>();
    state->what = std::move(what);
    state->format = format;
    state->limits = limits;
    state->fd = fd;
    state->buffer.resize(kBufferBytes);
    if (hash_raw) {
        state->sha256.emplace(crypto::HashAlgorithm::sha256);
        state->sha512.emplace(crypto::HashAlgorithm::sha512);
    }
    std::unique_ptr<ArchiveReader> reader(new ArchiveReader(std::move(state)));
    if (auto started = reader->start(); !started) return fail(started.error());
    return reader;
}

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::open_memory(std::string_view bytes, std::string what,
                                                                  Format format, const ArchiveLimits& limits) {
    if (bytes.size() > limits.max_raw_bytes) {
        return fail(ErrorCode::too_large,
                    concat({what, " is larger than ", std::to_string(limits.max_raw_bytes), " bytes"}));
    }
    auto state = std::make_unique<State>();
    state->what = std::move(what);
    state->format = format;
    state->limits = limits;
    state->memory = bytes;
    std::unique_ptr<ArchiveReader> reader(new ArchiveReader(std::move(state)));
    if (auto started = reader->start(); !started) return fail(started.error());
    return reader;
}

Result<void> ArchiveReader::start() {
    const Utf8LocaleScope utf8;
    auto& state = *state_;
    state.handle = archive_read_new();
    if (state.handle == nullptr) return fail(ErrorCode::internal, "libarchive could not allocate a reader");
    // ARCHIVE_WARN here means libarchive would run an external program for the filter.
    const bool filters_built_in =
        archive_read_support_filter_gzip(state.handle) == ARCHIVE_OK &&
        (state.format == Format::gzip_raw || (archive_read_support_filter_xz(state.handle) == ARCHIVE_OK &&
                                              archive_read_support_filter_zstd(state.handle) == ARCHIVE_OK));
    if (!filters_built_in) {
        return fail(ErrorCode::unsupported, "this libarchive has no built-in gzip, xz or zstd decompressor");
    }
    const int format_rc = state.format == Format::tar ? archive_read_support_format_tar(state.handle)
                                                      : archive_read_support_format_raw(state.handle);
    if (format_rc != ARCHIVE_OK) return state.archive_failure("setting up the reader");
    if (archive_read_open(state.handle, state_.get(), nullptr, read_callback, nullptr) != ARCHIVE_OK) {
        return state.archive_failure(state.format == Format::tar
                                         ? "cannot be read as a tar archive compressed with zstd, xz or gzip"
                                         : "cannot be read as gzip");
    }
    return {};
}

Result<std::optional<ArchiveEntry>> ArchiveReader::next() {
    const Utf8LocaleScope utf8;
    auto& state = *state_;
    if (state.at_end) return std::optional<ArchiveEntry>{};
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(state.handle, &entry);
    state.have_entry = false;
    if (rc == ARCHIVE_EOF) {
        state.at_end = true;
        return std::optional<ArchiveEntry>{};
    }
    if (rc != ARCHIVE_OK) return state.archive_failure("reading an entry header");

    // The first header tells which filter and format the input really has.
    if (state.entries == 0) {
        const int filter = archive_filter_code(state.handle, 0);
        if (state.format == Format::gzip_raw) {
            if (filter != ARCHIVE_FILTER_GZIP) return fail(ErrorCode::parse, state.what + " is not gzip-compressed");
        } else {
            if (filter != ARCHIVE_FILTER_NONE && filter != ARCHIVE_FILTER_GZIP && filter != ARCHIVE_FILTER_XZ &&
                filter != ARCHIVE_FILTER_ZSTD) {
                return fail(ErrorCode::unsupported,
                            state.what + " is compressed with something other than zstd, xz or gzip");
            }
            if ((archive_format(state.handle) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_TAR) {
                return fail(ErrorCode::unsupported, state.what + " is not a tar archive");
            }
        }
    }
    if (++state.entries > state.limits.max_entries) {
        return fail(ErrorCode::too_large,
                    concat({state.what, " has more than ", std::to_string(state.limits.max_entries), " entries"}));
    }

    ArchiveEntry result;
    const char* path = archive_entry_pathname_utf8(entry);
    if (path == nullptr) return fail(ErrorCode::parse, state.what + " has an entry without a UTF-8 path");
    result.path = path;
    if (state.format == Format::gzip_raw) {
        state.size_known = false;
        state.have_entry = true;
        result.kind = ArchiveEntryKind::file;
        return std::optional<ArchiveEntry>{std::move(result)};
    }
    if (archive_entry_sparse_count(entry) > 0) {
        return fail(ErrorCode::unsupported, concat({state.what, ": '", valid_utf8(result.path), "' is a sparse file"}));
    }
    if (const char* hardlink = archive_entry_hardlink_utf8(entry); hardlink != nullptr) {
        result.kind = ArchiveEntryKind::hardlink;
        result.link = hardlink;
    } else {
        switch (archive_entry_filetype(entry)) {
            case AE_IFREG: result.kind = ArchiveEntryKind::file; break;
            case AE_IFDIR: result.kind = ArchiveEntryKind::directory; break;
            case AE_IFLNK: {
                result.kind = ArchiveEntryKind::symlink;
                const char* target = archive_entry_symlink_utf8(entry);
                if (target == nullptr) {
                    return fail(ErrorCode::parse,
                                concat({state.what, ": symlink '", valid_utf8(result.path), "' has no target"}));
                }
                result.link = target;
                break;
            }
            default: result.kind = ArchiveEntryKind::other; break;
        }
    }
    constexpr std::uint32_t kPermissionBits = 07777;
    result.mode = static_cast<std::uint32_t>(archive_entry_perm(entry)) & kPermissionBits;
    result.uid = archive_entry_uid(entry);
    result.gid = archive_entry_gid(entry);
    if (archive_entry_mtime_is_set(entry) == 0) {
        return fail(ErrorCode::parse, concat({state.what, ": '", valid_utf8(result.path), "' has no mtime"}));
    }
    result.mtime_seconds = archive_entry_mtime(entry);
    result.mtime_nanoseconds = static_cast<std::uint32_t>(archive_entry_mtime_nsec(entry));
    result.size = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : 0;
    if (result.size < 0) {
        return fail(ErrorCode::parse, concat({state.what, ": '", valid_utf8(result.path), "' has a negative size"}));
    }
    unsigned long fflags_set = 0;
    unsigned long fflags_clear = 0;
    archive_entry_fflags(entry, &fflags_set, &fflags_clear);
    result.has_extended_metadata =
        archive_entry_xattr_count(entry) > 0 ||
        archive_entry_acl_count(
            entry, ARCHIVE_ENTRY_ACL_TYPE_ACCESS | ARCHIVE_ENTRY_ACL_TYPE_DEFAULT | ARCHIVE_ENTRY_ACL_TYPE_NFS4) > 0 ||
        fflags_set != 0 || fflags_clear != 0;
    state.data_bytes += static_cast<std::uint64_t>(result.size);
    if (state.data_bytes > state.limits.max_data_bytes) {
        return fail(ErrorCode::too_large, concat({state.what, " unpacks to more than ",
                                                  std::to_string(state.limits.max_data_bytes), " bytes"}));
    }
    state.size_known = true;
    state.current_size = result.size;
    state.have_entry = true;
    return std::optional<ArchiveEntry>{std::move(result)};
}

Result<void> ArchiveReader::read_data(const std::function<Result<void>(std::string_view)>& consume) {
    const Utf8LocaleScope utf8;
    auto& state = *state_;
    if (!state.have_entry) return fail(ErrorCode::internal, "read_data without a current entry");
    state.have_entry = false;
    std::vector<char> chunk(kBufferBytes);
    std::uint64_t total = 0;
    const std::uint64_t cap =
        state.size_known ? static_cast<std::uint64_t>(state.current_size) : state.limits.max_data_bytes;
    for (;;) {
        const la_ssize_t got = archive_read_data(state.handle, chunk.data(), chunk.size());
        if (got < 0) return state.archive_failure("reading entry data");
        if (got == 0) break;
        total += static_cast<std::uint64_t>(got);
        if (total > cap) {
            return fail(state.size_known ? ErrorCode::integrity : ErrorCode::too_large,
                        concat({state.what, ": entry data is longer than ", std::to_string(cap), " bytes"}));
        }
        if (auto consumed = consume({chunk.data(), static_cast<std::size_t>(got)}); !consumed) {
            return fail(consumed.error());
        }
    }
    if (state.size_known && total != static_cast<std::uint64_t>(state.current_size)) {
        return fail(ErrorCode::integrity, concat({state.what, ": entry data ends after ", std::to_string(total), " of ",
                                                  std::to_string(state.current_size), " bytes"}));
    }
    return {};
}

Result<std::string> ArchiveReader::read_data_whole(std::size_t max_bytes) {
    std::string data;
    auto read = read_data([&](std::string_view chunk) -> Result<void> {
        if (chunk.size() > max_bytes - data.size()) {
            return fail(ErrorCode::too_large,
                        concat({state_->what, ": an entry is larger than ", std::to_string(max_bytes), " bytes"}));
        }
        data.append(chunk);
        return {};
    });
    if (!read) return fail(read.error());
    return data;
}

Result<RawDigests> ArchiveReader::finish_raw_digests() {
    auto& state = *state_;
    if (!state.sha256 || !state.sha512) return fail(ErrorCode::internal, "raw digests were not requested");
    for (;;) {
        auto got = state.read_raw(state.buffer.data(), state.buffer.size());
        if (!got) return fail(got.error());
        if (*got == 0) break;
    }
    RawDigests digests{state.sha256->finish(), state.sha512->finish(), state.raw_bytes};
    state.sha256.reset();
    state.sha512.reset();
    return digests;
}

Result<std::string> gunzip_bounded(std::string_view compressed, std::string_view what, std::size_t max_bytes) {
    ArchiveLimits limits;
    limits.max_data_bytes = max_bytes;
    auto reader = ArchiveReader::open_memory(compressed, std::string(what), ArchiveReader::Format::gzip_raw, limits);
    if (!reader) return fail(reader.error());
    auto entry = (*reader)->next();
    if (!entry) return fail(entry.error());
    if (!*entry) return fail(ErrorCode::parse, concat({what, " is empty"}));
    return (*reader)->read_data_whole(max_bytes);
}

}  // namespace bulkhead::archpkg
