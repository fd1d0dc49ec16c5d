#include <array>
#include <memory>
#include <mutex>
#include <optional>

#include <curl/curl.h>

#include "fetch/fetcher.hpp"

namespace bulkhead::fetch {

namespace {

constexpr long kMaxRedirects = 5;

struct CurlDeleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};

void initialise_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State shared with the write callback of one transfer.
struct Transfer {
    CURL* curl = nullptr;
    long refused_status = 0;  // a non-200 response whose body was not delivered
    const Sink* sink = nullptr;
    std::size_t max_bytes = 0;
    std::size_t received = 0;
    bool too_large = false;
    std::optional<Error> sink_error;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* context) {
    auto* transfer = static_cast<Transfer*>(context);
    const std::size_t bytes = size * count;
    // Only a 200 body is content; an error page never reaches the sink.
    long status = 0;
    curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        transfer->refused_status = status;
        return 0;
    }
    if (bytes > transfer->max_bytes - transfer->received) {
        transfer->too_large = true;
        return 0;  // makes curl abort with CURLE_WRITE_ERROR
    }
    transfer->received += bytes;
    if (auto taken = (*transfer->sink)(std::string_view(data, bytes)); !taken) {
        transfer->sink_error = taken.error();
        return 0;
    }
    return bytes;
}

class HttpFetcher final : public Fetcher {
public:
    explicit HttpFetcher(HttpOptions options) : options_(std::move(options)) { initialise_curl_once(); }

    Result<void> fetch(const std::string& url, std::size_t max_bytes, const Sink& sink) override {
        const std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
        if (!handle) return fail(ErrorCode::internal, "cannot create an HTTP handle");
        CURL* curl = handle.get();
        Transfer transfer;
        transfer.curl = curl;
        transfer.sink = &sink;
        // Never follow a redirect from HTTPS down to plain HTTP.
        const char* redirect_protocols = url.starts_with("https://") ? "https" : "http,https";
        transfer.max_bytes = max_bytes;
        std::array<char, CURL_ERROR_SIZE> error_text{};

        // Options that fail to apply would weaken the transfer, so any failure aborts it.
        const bool configured =
            curl_easy_setopt(curl, CURLOPT_URL, url.c_str()) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, redirect_protocols) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_MAXREDIRS, kMaxRedirects) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_PROXY, options_.proxy.c_str()) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connect_timeout.count())) ==
                CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options_.total_timeout.count())) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.minimum_speed) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_time.count())) ==
                CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes)) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_data) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text.data()) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_USERAGENT, "bulkhead") == CURLE_OK;
        if (!configured || (!options_.ca_file.empty() &&
                            curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str()) != CURLE_OK)) {
            return fail(ErrorCode::internal, "cannot configure the HTTP transfer for " + url);
        }

        const CURLcode result = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 403 || status == 404) return fail(ErrorCode::not_found, url + ": HTTP " + std::to_string(status));
        if (transfer.refused_status != 0 && transfer.refused_status != 200) {
            return fail(ErrorCode::io, url + ": unexpected HTTP status " + std::to_string(transfer.refused_status));
        }
        if (transfer.sink_error) return fail(*transfer.sink_error);
        if (transfer.too_large || result == CURLE_FILESIZE_EXCEEDED) {
            return fail(ErrorCode::too_large,
                        url + ": larger than the limit of " + std::to_string(max_bytes) + " bytes");
        }
        if (result != CURLE_OK) {
            const std::string detail = error_text[0] != '\0' ? error_text.data() : curl_easy_strerror(result);
            return fail(result == CURLE_OPERATION_TIMEDOUT ? ErrorCode::timeout : ErrorCode::io, url + ": " + detail);
        }
        if (status == 403 || status == 404) return fail(ErrorCode::not_found, url + ": HTTP " + std::to_string(status));
        if (status != 200) return fail(ErrorCode::io, url + ": unexpected HTTP status " + std::to_string(status));
        return {};
    }

private:
    HttpOptions options_;
};

}  // namespace

std::unique_ptr<Fetcher> make_http_fetcher(const HttpOptions& options) {
    return std::make_unique<HttpFetcher>(options);
}

}  // namespace bulkhead::fetch
