// Fuzzes what the app store's root process reads: the store configuration and the lines its
// unprivileged worker sends (a worker subverted by a hostile package could send anything). Never
// crash; an accepted configuration keeps its promises (repository URLs end in "/", paths are
// absolute, the threshold fits the keys, the worker is never root); an accepted progress line
// says the same thing when written again. The first byte picks the reader.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "appstore/config.hpp"
#include "appstore/worker.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
        auto message = bulkhead::appstore::parse_worker_line(text);
        if (!message || message->kind != bulkhead::appstore::WorkerMessage::Kind::progress) return 0;
        std::string again = bulkhead::appstore::progress_line(message->progress);
        again.pop_back();  // the newline
        auto reread = bulkhead::appstore::parse_worker_line(again);
        if (!reread || reread->progress.stage != message->progress.stage ||
            reread->progress.item != message->progress.item || reread->progress.done != message->progress.done ||
            reread->progress.total != message->progress.total) {
            std::abort();
        }
        return 0;
    }
    auto config = bulkhead::appstore::parse_store_config(text, "fuzz.toml");
    if (!config) return 0;
    if (!config->metadata_url.ends_with('/') || !config->targets_url.ends_with('/') ||
        !config->trusted_root.starts_with('/') || !config->state_dir.starts_with('/') || config->worker_uid == 0 ||
        config->rebuilder_keys.empty() || config->rebuilder_threshold < 1 ||
        config->rebuilder_threshold > config->rebuilder_keys.size()) {
        std::abort();
    }
    return 0;
}
