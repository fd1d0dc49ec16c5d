// bulkhead-tuf-client: the TUF client command line of the public conformance suite
// (docs/TUF.md). Exit status is exactly 0 on complete success and 1 on any failure, including
// a malformed command line, because the suite treats every other status as a crash.
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/file_io.hpp"
#include "fetch/fetcher.hpp"
#include "tuf/updater.hpp"

namespace {

constexpr int kSuccess = 0;
constexpr int kFailure = 1;
constexpr std::size_t kMaxInitialRootBytes = 512000;

struct Options {
    std::string metadata_dir;
    std::string metadata_url;
    std::string target_dir;
    std::string target_base_url;
    std::string proxy;
    std::vector<std::string> target_names;
    std::string command;
    std::vector<std::string> arguments;
};

int failure(const std::string& message) {
    (void)std::fprintf(stderr, "bulkhead-tuf-client: %s\n", message.c_str());
    return kFailure;
}

const char* const kUsage =
    "usage: bulkhead-tuf-client [options] init ROOTFILE | refresh | download\n"
    "  --metadata-dir DIR       trusted metadata directory (required)\n"
    "  --metadata-url URL       repository metadata URL (refresh, download)\n"
    "  --target-name PATH       target to download; repeat for several (download)\n"
    "  --target-base-url URL    repository targets URL (download)\n"
    "  --target-dir DIR         where verified targets are stored (download)\n"
    "  --proxy socks5h://H:P    reach the repository through a SOCKS5 proxy (e.g. onion mirrors)\n"
    "URLs may be https://, http:// or file://. Exit status: 0 success, 1 any failure.\n";

std::optional<Options> parse(int argc, char** argv, std::string& error) {
    Options options;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (!options.command.empty()) {
            options.arguments.emplace_back(arg);
            continue;
        }
        auto value = [&](std::string& into) {
            if (i + 1 >= args.size()) {
                error = std::string(arg) + " needs a value";
                return false;
            }
            into = std::string(args[++i]);
            return true;
        };
        if (arg == "--metadata-dir") {
            if (!value(options.metadata_dir)) return std::nullopt;
        } else if (arg == "--metadata-url") {
            if (!value(options.metadata_url)) return std::nullopt;
        } else if (arg == "--target-dir") {
            if (!value(options.target_dir)) return std::nullopt;
        } else if (arg == "--target-base-url") {
            if (!value(options.target_base_url)) return std::nullopt;
        } else if (arg == "--proxy") {
            if (!value(options.proxy)) return std::nullopt;
        } else if (arg == "--target-name") {
            std::string name;
            if (!value(name)) return std::nullopt;
            options.target_names.push_back(std::move(name));
        } else if (arg == "init" || arg == "refresh" || arg == "download") {
            options.command = std::string(arg);
        } else {
            error = "unknown argument '" + std::string(arg) + "'";
            return std::nullopt;
        }
    }
    if (options.command.empty()) {
        error = "no command given";
        return std::nullopt;
    }
    if (options.metadata_dir.empty()) {
        error = "--metadata-dir is required";
        return std::nullopt;
    }
    const std::size_t expected_arguments = options.command == "init" ? 1 : 0;
    if (options.arguments.size() != expected_arguments) {
        error =
            options.command + (expected_arguments == 1 ? " takes one argument, the root file" : " takes no arguments");
        return std::nullopt;
    }
    if (options.command != "init" && options.metadata_url.empty()) {
        error = "--metadata-url is required for " + options.command;
        return std::nullopt;
    }
    if (options.command == "download" &&
        (options.target_dir.empty() || options.target_base_url.empty() || options.target_names.empty())) {
        error = "download needs --target-dir, --target-base-url and at least one --target-name";
        return std::nullopt;
    }
    return options;
}

int run(int argc, char** argv) {
    if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
        (void)std::fputs(kUsage, stdout);
        return kSuccess;
    }
    std::string error;
    const std::optional<Options> options = parse(argc, argv, error);
    if (!options) return failure(error + "\n" + kUsage);

    if (options->command == "init") {
        // No network and no checks: the root is validated before any use, at refresh.
        auto root = bulkhead::read_file_bounded(options->arguments[0], kMaxInitialRootBytes);
        if (!root) return failure(root.error().message);
        auto stored = bulkhead::write_file_atomically(options->metadata_dir + "/root.json", *root, 0644);
        if (!stored) return failure(stored.error().message);
        return kSuccess;
    }

    bulkhead::fetch::HttpOptions http;
    http.proxy = options->proxy;
    const auto fetcher = bulkhead::fetch::make_fetcher(http);
    bulkhead::tuf::Updater updater(options->metadata_dir, options->metadata_url, options->target_dir,
                                   options->target_base_url, *fetcher);
    if (auto refreshed = updater.refresh(); !refreshed) return failure(refreshed.error().message);
    if (options->command == "refresh") return kSuccess;

    for (const std::string& name : options->target_names) {
        auto info = updater.get_targetinfo(name);
        if (!info) return failure(info.error().message);
        if (!*info) return failure("target '" + name + "' is not listed by any trusted role on its search path");
        auto cached = updater.find_cached_target(**info);
        if (!cached) return failure(cached.error().message);
        if (*cached) continue;
        if (auto downloaded = updater.download_target(**info); !downloaded) {
            return failure(downloaded.error().message);
        }
    }
    return kSuccess;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& unexpected) {
        return failure(std::string("internal error: ") + unexpected.what());
    } catch (...) {
        return failure("internal error");
    }
}
