#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "fetch/fetcher.hpp"

namespace bulkhead::fetch {

namespace {

Result<std::string> url_to_path(const std::string& url) {
    constexpr std::string_view kPrefix = "file://";
    std::string_view rest = std::string_view(url).substr(kPrefix.size());
    if (!rest.starts_with('/')) {
        return fail(ErrorCode::invalid_argument, "file URL '" + url + "' must be absolute (file:///path)");
    }
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "file URL '" + url + "' must not have a query or fragment");
    }
    std::string path;
    std::string segment;
    auto finish_segment = [&]() -> Result<void> {
        if (segment == "." || segment == "..") {
            return fail(ErrorCode::invalid_argument, "file URL '" + url + "' contains a '.' or '..' segment");
        }
        path += segment;
        segment.clear();
        return {};
    };
    for (std::size_t i = 0; i < rest.size(); ++i) {
        const char c = rest[i];
        if (c == '/') {
            if (auto done = finish_segment(); !done) return fail(done.error());
            path += '/';
            continue;
        }
        if (c != '%') {
            segment += c;
            continue;
        }
        const int high = i + 2 < rest.size() ? hex_digit_value(rest[i + 1]) : -1;
        const int low = i + 2 < rest.size() ? hex_digit_value(rest[i + 2]) : -1;
        if (high < 0 || low < 0) return fail(ErrorCode::invalid_argument, "file URL '" + url + "' has a bad escape");
        const char decoded = static_cast<char>(high * 16 + low);
        if (decoded == '\0') return fail(ErrorCode::invalid_argument, "file URL '" + url + "' contains %00");
        if (decoded == '/') {
            segment += rest.substr(i, 3);  // keep %2F literally: it is part of a file name
        } else {
            segment += decoded;
        }
        i += 2;
    }
    if (auto done = finish_segment(); !done) return fail(done.error());
    return path;
}

class FileFetcher final : public Fetcher {
public:
    Result<void> fetch(const std::string& url, std::size_t max_bytes, const Sink& sink) override {
        auto path = url_to_path(url);
        if (!path) return fail(path.error());
        const UniqueFd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW));
        if (!fd.valid()) {
            const int open_errno = errno;
            if (open_errno == ENOENT) return fail(ErrorCode::not_found, url + ": not found");
            return fail(Error::from_errno(open_errno, "opening " + url));
        }
        std::array<char, 65536> buffer{};
        std::size_t total = 0;
        for (;;) {
            const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
            if (got < 0) {
                if (errno == EINTR) continue;
                return fail(Error::from_errno(errno, "reading " + url));
            }
            if (got == 0) return {};
            total += static_cast<std::size_t>(got);
            if (total > max_bytes) {
                return fail(ErrorCode::too_large,
                            url + ": larger than the limit of " + std::to_string(max_bytes) + " bytes");
            }
            if (auto taken = sink(std::string_view(buffer.data(), static_cast<std::size_t>(got))); !taken) {
                return taken;
            }
        }
    }
};

}  // namespace

std::unique_ptr<Fetcher> make_file_fetcher() { return std::make_unique<FileFetcher>(); }

}  // namespace bulkhead::fetch
