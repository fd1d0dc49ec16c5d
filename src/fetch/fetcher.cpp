#include "fetch/fetcher.hpp"

namespace bulkhead::fetch {

Result<std::string> Fetcher::fetch_bytes(const std::string& url, std::size_t max_bytes) {
    std::string body;
    auto fetched = fetch(url, max_bytes, [&body](std::string_view chunk) -> Result<void> {
        body.append(chunk);
        return {};
    });
    if (!fetched) return fail(fetched.error());
    return body;
}

namespace {

class SchemeFetcher final : public Fetcher {
public:
    explicit SchemeFetcher(const HttpOptions& options)
        : http_(make_http_fetcher(options)), file_(make_file_fetcher()) {}

    Result<void> fetch(const std::string& url, std::size_t max_bytes, const Sink& sink) override {
        if (url.starts_with("file://")) return file_->fetch(url, max_bytes, sink);
        if (url.starts_with("http://") || url.starts_with("https://")) return http_->fetch(url, max_bytes, sink);
        return fail(ErrorCode::unsupported,
                    "unsupported URL scheme in '" + url + "' (use https://, http:// or file://)");
    }

private:
    std::unique_ptr<Fetcher> http_;
    std::unique_ptr<Fetcher> file_;
};

}  // namespace

std::unique_ptr<Fetcher> make_fetcher(const HttpOptions& options) { return std::make_unique<SchemeFetcher>(options); }

}  // namespace bulkhead::fetch
