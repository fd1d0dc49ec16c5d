// Fetchers move bytes; they never decide whether the bytes are trusted.
//
// Every fetch has a size cap and timeouts. A missing file (HTTP 403 or 404, or no such file on
// offline media) is reported as not_found, which the TUF root walk needs to tell "no newer
// version" from a failure; everything else is an error with the URL in its message.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::fetch {

// Receives the body as it arrives; returning an error aborts the transfer.
using Sink = std::function<Result<void>(std::string_view chunk)>;

class Fetcher {
public:
    Fetcher() = default;
    Fetcher(const Fetcher&) = delete;
    Fetcher& operator=(const Fetcher&) = delete;
    virtual ~Fetcher() = default;

    // Streams the body of `url` into `sink`. Fails with too_large as soon as more than
    // `max_bytes` would arrive, before those bytes reach the sink.
    virtual Result<void> fetch(const std::string& url, std::size_t max_bytes, const Sink& sink) = 0;

    // Convenience: the whole body in memory (for metadata, which is small and capped).
    Result<std::string> fetch_bytes(const std::string& url, std::size_t max_bytes);
};

struct HttpOptions {
    std::chrono::seconds connect_timeout{15};
    std::chrono::seconds total_timeout{300};
    // A transfer slower than this many bytes per second for `stall_time` is aborted.
    long minimum_speed = 1024;
    std::chrono::seconds stall_time{30};
    // "socks5h://host:port" to reach mirrors through a SOCKS proxy that resolves names itself
    // (onion services); empty for a direct connection. Proxy environment variables are ignored.
    std::string proxy;
    // PEM file of the certificate authorities to trust for HTTPS instead of the system store
    // (a private mirror); empty for the system store.
    std::string ca_file;
};

// HTTP and HTTPS through libcurl. HTTPS uses TLS 1.3 only. TLS is never what makes the data
// trusted; it only limits who can watch.
std::unique_ptr<Fetcher> make_http_fetcher(const HttpOptions& options = {});

// file:// URLs, for offline media. Percent-escapes are decoded except %2F, which stays in the
// file name (TUF role names are percent-encoded so that "/" cannot create a path); "." and
// ".." segments are refused.
std::unique_ptr<Fetcher> make_file_fetcher();

// Chooses by URL scheme: file:// to the file fetcher, http:// and https:// to the HTTP one.
std::unique_ptr<Fetcher> make_fetcher(const HttpOptions& options = {});

}  // namespace bulkhead::fetch
