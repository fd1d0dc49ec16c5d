// `bulkhead app install | versions | update`: apps from the TUF app repository. The root process
// reads the store configuration, lays out directories and asks bulkheadd to install; everything
// that handles the network or untrusted bytes runs in the store's unprivileged worker
// (appstore/worker.hpp).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/definition.hpp"
#include "apps/image_import.hpp"
#include "apps/installer.hpp"
#include "apps/registry.hpp"
#include "appstore/app_image.hpp"
#include "appstore/config.hpp"
#include "appstore/worker.hpp"
#include "archpkg/version.hpp"
#include "attest/link.hpp"
#include "base/file_io.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "cli/output.hpp"
#include "commands.hpp"
#include "daemon_client.hpp"
#include "fetch/fetcher.hpp"
#include "json/write.hpp"

namespace bulkhead::cmd {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr std::size_t kMaxKeyFileBytes = std::size_t{64} * 1024;
constexpr std::size_t kMaxRootBytes = std::size_t{16} << 20;
constexpr std::size_t kMaxRecordBytes = 4096;

struct StoreOptions {
    std::string config = "/etc/bulkhead/appstore.toml";
    std::string target;    // NAME or NAME=VERSION
    std::string local_as;  // --as: the app's name on this machine
    bool json = false;
};

// Everything the worker needs, read by root before the worker starts: it cannot read root's files.
struct Store {
    appstore::StoreConfig config;
    attest::RebuilderPolicy rebuilders;
    std::string trusted_root;
};

// Reads a file that decides what is trusted: it must be root's and writable by nobody else
// (checked on the opened file, so it cannot be swapped after the check).
Result<std::string> read_trusted_file(const std::string& path, std::size_t max_bytes) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening " + path));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return fail(Error::from_errno(errno, "reading " + path));
    if (!S_ISREG(info.st_mode) || info.st_uid != 0 || (info.st_mode & 022U) != 0) {
        return fail(ErrorCode::permission_denied,
                    path + " decides what this machine trusts: it must be a file of root's that nobody else can write");
    }
    return read_fd_bounded(fd.get(), max_bytes, path);
}

Result<Store> load_store(const std::string& path) {
    auto text = read_trusted_file(path, appstore::kMaxStoreConfigBytes);
    if (!text) return fail(text.error());
    auto config = appstore::parse_store_config(*text, path);
    if (!config) return fail(config.error());
    Store store{std::move(config).value(), {}, {}};
    for (const auto& file : store.config.rebuilder_keys) {
        auto bytes = read_trusted_file(file, kMaxKeyFileBytes);
        if (!bytes) return fail(bytes.error());
        auto key = attest::parse_rebuilder_key(*bytes);
        if (!key) return fail(key.error().code, file + ": " + key.error().message);
        store.rebuilders.keys.push_back(std::move(key).value());
    }
    store.rebuilders.threshold = store.config.rebuilder_threshold;
    if (auto checked = attest::check_policy(store.rebuilders); !checked) return fail(checked.error());
    auto root = read_trusted_file(store.config.trusted_root, kMaxRootBytes);
    if (!root) return fail(root.error());
    store.trusted_root = std::move(root).value();
    // The worker reads the CA file itself (so it must be readable by it), but only root may change it.
    if (!store.config.ca_file.empty()) {
        if (auto ca = read_trusted_file(store.config.ca_file, kMaxRootBytes); !ca) return fail(ca.error());
    }
    // The worker's uid must be nobody else's: killing everything of it when it ends and its files
    // rely on that.
    if (store.config.worker_uid >= apps::kFirstAppUid && store.config.worker_uid <= apps::kLastAppUid) {
        return fail(ErrorCode::invalid_argument,
                    "worker_uid " + std::to_string(store.config.worker_uid) + " is in the range reserved for apps");
    }
    if (apps::account_exists(store.config.worker_uid)) {
        return fail(ErrorCode::invalid_argument,
                    "worker_uid " + std::to_string(store.config.worker_uid) +
                        " belongs to an account; the store's worker needs a uid of its own");
    }
    return store;
}

std::string worker_dir(const Store& store) { return store.config.state_dir + "/worker"; }
std::string record_dir(const Store& store) { return store.config.state_dir + "/installed"; }

Result<void> make_dir(const std::string& path, uid_t owner, mode_t mode) {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return fail(Error::from_errno(errno, "creating " + path));
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
        return fail(ErrorCode::invalid_argument, path + " must be a directory");
    }
    if (::lchown(path.c_str(), owner, owner) != 0 || ::chmod(path.c_str(), mode) != 0) {
        return fail(Error::from_errno(errno, "setting the owner of " + path));
    }
    return {};
}

// Root-owned state, the worker's own directory, and a lock so that one store command runs at a
// time (the worker's metadata and downloads are shared).
Result<UniqueFd> open_state(const Store& store) {
    if (::geteuid() != 0) {
        return fail(ErrorCode::permission_denied,
                    "the app store needs root: it installs apps through bulkheadd and runs its worker as uid " +
                        std::to_string(store.config.worker_uid));
    }
    std::error_code error;
    fs::create_directories(store.config.state_dir, error);
    if (error) return fail(ErrorCode::io, "creating " + store.config.state_dir + ": " + error.message());
    if (auto made = make_dir(store.config.state_dir, 0, 0755); !made) return fail(made.error());
    if (auto made = make_dir(worker_dir(store), store.config.worker_uid, 0700); !made) return fail(made.error());
    if (auto made = make_dir(record_dir(store), 0, 0755); !made) return fail(made.error());
    const std::string lock_path = store.config.state_dir + "/lock";
    UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!lock.valid()) return fail(Error::from_errno(errno, "opening " + lock_path));
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        return fail(ErrorCode::invalid_argument, "another app store command is running (" + lock_path + ")");
    }
    // Work directories of a command that was killed.
    for (const auto& entry : fs::directory_iterator(store.config.state_dir, error)) {
        if (entry.path().filename().string().starts_with("work-")) fs::remove_all(entry.path(), error);
    }
    return lock;
}

// The worker's view of the store: its own directories, the configured URLs and policies.
appstore::ClientConfig client_config(const Store& store) {
    appstore::ClientConfig client;
    client.metadata_dir = worker_dir(store) + "/metadata";
    client.metadata_url = store.config.metadata_url;
    client.targets_url = store.config.targets_url;
    client.cache_dir = worker_dir(store) + "/cache";
    client.rebuilders = store.rebuilders;
    client.patches = store.config.patches;
    client.use_package_mirrors = store.config.use_package_mirrors;
    return client;
}

// In the worker: its directories, and the trusted root for a first refresh.
Result<void> prepare_worker_dirs(const Store& store) {
    const appstore::ClientConfig client = client_config(store);
    for (const std::string& dir : {client.metadata_dir, client.cache_dir}) {
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return fail(Error::from_errno(errno, "creating " + dir));
    }
    const std::string root = client.metadata_dir + "/root.json";
    if (::access(root.c_str(), F_OK) != 0) return write_file_atomically(root, store.trusted_root, 0600);
    return {};
}

int report_in_worker(int fd, const Result<json::Value>& outcome) {
    const std::string line = outcome ? appstore::result_line(*outcome) : appstore::error_line(outcome.error());
    return write_all(fd, line, "the worker's pipe") && outcome ? 0 : 1;
}

json::Value text(std::string value) { return json::Value(std::move(value)); }

// On a terminal, one progress line redrawn in place; otherwise one JSON event per line, on
// stderr either way (stdout carries the result).
appstore::Progress progress_printer(bool json) {
    const bool terminal = !json && ::isatty(STDERR_FILENO) != 0;
    return [terminal](const appstore::ProgressEvent& event) {
        if (!terminal) {
            const Json line = {{"schema", "bulkhead.progress/1"},
                               {"stage", event.stage},
                               {"item", event.item},
                               {"done", event.done},
                               {"total", event.total}};
            (void)std::fprintf(stderr, "%s\n", line.dump().c_str());
            return;
        }
        std::string bar;
        if (event.total > 0) {
            // The numbers come from the worker: in floating point, so no product can overflow.
            const std::uint64_t done = std::min(event.done, event.total);
            const double fraction = static_cast<double>(done) / static_cast<double>(event.total);
            const auto filled = std::min<std::size_t>(30, static_cast<std::size_t>(fraction * 30));
            bar = "[" + std::string(filled, '#') + std::string(30 - filled, ' ') + "] " +
                  std::to_string(static_cast<int>(fraction * 100)) + "%";
            // Downloads count bytes; unpacking counts packages, the image one step.
            if (event.stage == "download") {
                bar += "  " + std::to_string(done >> 10) + "/" + std::to_string(event.total >> 10) + " KiB";
            } else if (event.stage == "unpack") {
                bar += "  " + std::to_string(done) + "/" + std::to_string(event.total) + " packages";
            }
        }
        (void)std::fprintf(stderr, "\r\033[K%-7s %.40s %s", event.stage.c_str(), event.item.c_str(), bar.c_str());
        (void)std::fflush(stderr);
    };
}

void end_progress_line(bool json) {
    if (!json && ::isatty(STDERR_FILENO) != 0) (void)std::fputs("\r\033[K", stderr);
}

Result<std::vector<std::string>> strings_of(const json::Value& object, const char* key) {
    const json::Value* list = object.find(key);
    if (list == nullptr || !list->is_array()) return fail(ErrorCode::parse, std::string("worker result: no ") + key);
    std::vector<std::string> out;
    for (const json::Value& item : list->as_array()) {
        if (!item.is_string())
            return fail(ErrorCode::parse, std::string("worker result: ") + key + " holds a non-string");
        out.push_back(item.as_string());
    }
    return out;
}

Result<std::string> string_of(const json::Value& object, const char* key) {
    const json::Value* value = object.find(key);
    if (value == nullptr || !value->is_string()) return fail(ErrorCode::parse, std::string("worker result: no ") + key);
    return value->as_string();
}

// The apps bulkheadd has installed, by name, with their versions.
Result<std::vector<std::pair<std::string, std::string>>> installed_apps(const std::string& socket) {
    auto response =
        call_bulkheadd(socket, json::sorted_object({{"api", text("bulkhead.api/1")}, {"op", text("list")}}));
    if (!response) return fail(response.error());
    std::vector<std::pair<std::string, std::string>> apps;
    const json::Value* list = response->find("apps");
    if (list == nullptr || !list->is_array()) return fail(ErrorCode::parse, "bulkheadd's list has no apps");
    for (const json::Value& app : list->as_array()) {
        const json::Value* name = app.find("name");
        const json::Value* version = app.find("version");
        if (name != nullptr && name->is_string() && version != nullptr && version->is_string()) {
            apps.emplace_back(name->as_string(), version->as_string());
        }
    }
    return apps;
}

struct Target {
    std::string app;    // in the repository
    std::string local;  // on this machine
    std::optional<std::string> version;
};

Result<Target> parse_target(const StoreOptions& options) {
    Target target;
    const auto equals = options.target.find('=');
    target.app = options.target.substr(0, equals);
    if (equals != std::string::npos) target.version = options.target.substr(equals + 1);
    if (auto checked = archpkg::check_package_name(target.app); !checked) return fail(checked.error());
    if (target.version && !archpkg::check_full_version(*target.version)) {
        return fail(ErrorCode::invalid_argument, "'" + *target.version + "' is not a package version");
    }
    target.local = options.local_as.empty() ? target.app : options.local_as;
    if (auto checked = apps::check_app_name(target.local); !checked) {
        return fail(ErrorCode::invalid_argument, "'" + target.local + "' cannot be an app name on this machine (" +
                                                     checked.error().message + "); choose one with --as");
    }
    return target;
}

// Copies the worker's image (a regular file of the worker's, one link, bounded) into a new file
// of root's.
Result<void> take_image(const std::string& image_dir, const std::string& destination, uid_t worker_uid) {
    const UniqueFd dir(::open(image_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) return fail(Error::from_errno(errno, "opening " + image_dir));
    const UniqueFd source(::openat(dir.get(), "root.erofs", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!source.valid()) return fail(Error::from_errno(errno, "opening the worker's image"));
    struct stat info {};
    if (::fstat(source.get(), &info) != 0) return fail(Error::from_errno(errno, "reading the worker's image"));
    if (!S_ISREG(info.st_mode) || info.st_uid != worker_uid || info.st_nlink != 1 ||
        info.st_size > apps::kMaxRootImageBytes) {
        return fail(ErrorCode::integrity, "the store worker's image is not a file of its own of at most 16 GiB");
    }
    const UniqueFd target(::open(destination.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!target.valid()) return fail(Error::from_errno(errno, "creating " + destination));
    std::uint64_t copied = 0;
    auto written = read_fd_chunks(source.get(), "the worker's image", [&](std::string_view chunk) -> Result<void> {
        copied += chunk.size();
        if (copied > static_cast<std::uint64_t>(apps::kMaxRootImageBytes)) {
            return fail(ErrorCode::too_large, "the store worker's image grew past 16 GiB");
        }
        return write_all(target.get(), chunk, destination);
    });
    if (!written) {
        (void)::unlink(destination.c_str());
        return fail(written.error());
    }
    return {};
}

struct Installed {
    std::string version;
    std::size_t packages = 0;
    std::vector<std::string> warnings;
    bool unchanged = false;
    std::string uid;
};

// One app version, all or nothing: the worker builds the image, bulkheadd installs it (replacing
// an installed version, keeping the app's data), and only then the store records it.
Result<Installed> install(const Store& store, const Target& target, const std::string& socket,
                          const appstore::Progress& progress) {
    auto listed = installed_apps(socket);
    if (!listed) return fail(listed.error());
    std::optional<std::string> current;
    for (const auto& [name, version] : *listed) {
        if (name == target.local) current = version;
    }
    // Only an app this store installed may be replaced by it: its record must name this
    // repository app and the version that is installed.
    const std::string record = record_dir(store) + "/" + target.local;
    if (current) {
        auto recorded = read_file_bounded(record, kMaxRecordBytes);
        const std::string expected = target.app + "\n" + *current + "\n";
        if (!recorded || *recorded != expected) {
            return fail(ErrorCode::invalid_argument,
                        "an app named " + target.local + " is installed and did not come from the app store" +
                            (recorded ? " as " + target.app : std::string()) + "; choose another name with --as");
        }
    }

    std::string work = store.config.state_dir + "/work-XXXXXX";
    if (::mkdtemp(work.data()) == nullptr) return fail(Error::from_errno(errno, "creating a work directory"));
    std::error_code ignored;
    struct Cleanup {
        std::string dir;
        ~Cleanup() {
            std::error_code error;
            fs::remove_all(dir, error);
        }
    } cleanup{work};
    if (::chmod(work.c_str(), 0755) != 0) return fail(Error::from_errno(errno, "opening " + work));
    const std::string image_dir = work + "/image";
    if (auto made = make_dir(image_dir, store.config.worker_uid, 0700); !made) return fail(made.error());

    auto result = appstore::run_worker(
        store.config.worker_uid,
        [&](int fd) {
            auto outcome = [&]() -> Result<json::Value> {
                if (auto ready = prepare_worker_dirs(store); !ready) return fail(ready.error());
                fetch::HttpOptions http;
                http.proxy = store.config.proxy;
                http.ca_file = store.config.ca_file;
                const auto fetcher = fetch::make_fetcher(http);
                appstore::AppStore app_store(client_config(store), *fetcher);
                auto report = [fd](const appstore::ProgressEvent& event) {
                    (void)write_all(fd, appstore::progress_line(event), "the worker's pipe");
                };
                std::optional<std::string> version = target.version;
                if (!version) {
                    auto offered = app_store.versions(target.app);
                    if (!offered) return fail(offered.error());
                    if (offered->empty())
                        return fail(ErrorCode::not_found, "the repository offers no version of " + target.app);
                    version = offered->back();
                }
                if (current && *current == *version) {
                    return json::sorted_object({{"unchanged", json::Value(true)}, {"version", text(*version)}});
                }
                auto built = appstore::build_app_image(app_store, target.app, version, image_dir, report);
                if (!built) return fail(built.error());
                json::Array args;
                for (const auto& arg : built->prepared.manifest.args) args.emplace_back(arg);
                json::Array warnings;
                for (const auto& warning : built->prepared.warnings) warnings.emplace_back(warning);
                return json::sorted_object(
                    {{"version", text(built->prepared.manifest.version)},
                     {"command", text(built->prepared.manifest.command)},
                     {"args", json::Value(std::move(args))},
                     {"warnings", json::Value(std::move(warnings))},
                     {"packages", json::Value(static_cast<std::int64_t>(built->prepared.manifest.packages.size()))}});
            }();
            return report_in_worker(fd, outcome);
        },
        progress);
    if (!result) return fail(result.error());

    Installed installed;
    auto version = string_of(*result, "version");
    if (!version) return fail(version.error());
    if (!archpkg::check_full_version(*version) || (target.version && *target.version != *version)) {
        return fail(ErrorCode::internal, "the store worker reported another version than the one asked for");
    }
    installed.version = *version;
    if (const json::Value* unchanged = result->find("unchanged"); unchanged != nullptr) {
        if (!unchanged->is_bool() || !unchanged->as_bool() || !current || *current != *version) {
            return fail(ErrorCode::internal, "the store worker said the installed version is unchanged, and it is not");
        }
        installed.unchanged = true;
        return installed;
    }
    appstore::Manifest manifest;
    manifest.app = target.app;
    manifest.version = *version;
    auto command = string_of(*result, "command");
    auto args = strings_of(*result, "args");
    auto warnings = strings_of(*result, "warnings");
    const json::Value* packages = result->find("packages");
    if (!command) return fail(command.error());
    if (!args) return fail(args.error());
    if (!warnings) return fail(warnings.error());
    if (packages == nullptr || !packages->is_integer() || packages->as_integer() < 1) {
        return fail(ErrorCode::parse, "worker result: no package count");
    }
    manifest.command = std::move(*command);
    manifest.args = std::move(*args);
    installed.warnings = std::move(*warnings);
    installed.packages = static_cast<std::size_t>(packages->as_integer());

    // The worker and everything it started are gone (run_worker); its image becomes root's own
    // copy, so nothing of the worker's (a link, a swapped file) decides what bulkheadd reads.
    if (auto copied = take_image(image_dir, work + "/root.erofs", store.config.worker_uid); !copied) {
        return fail(copied.error());
    }
    fs::remove_all(image_dir, ignored);
    auto definition = appstore::app_definition_text(target.local, manifest, "root.erofs", store.config);
    if (!definition) return fail(definition.error());
    if (auto parsed = apps::parse_app_definition(*definition, "the generated definition"); !parsed) {
        return fail(parsed.error());
    }
    const std::string definition_path = work + "/app.toml";
    if (auto written = write_file_atomically(definition_path, *definition, 0644); !written) {
        return fail(written.error());
    }
    if (progress) progress({"install", target.local, 0, 0});
    auto added = call_bulkheadd(socket, json::sorted_object({{"api", text("bulkhead.api/1")},
                                                             {"op", text("add")},
                                                             {"definition", text(definition_path)},
                                                             {"replace", json::Value(current.has_value())}}));
    if (!added) return fail(added.error());
    if (const json::Value* uid = added->find("uid"); uid != nullptr && uid->is_integer()) {
        installed.uid = std::to_string(uid->as_integer());
    }
    if (auto noted = write_file_atomically(record, target.app + "\n" + *version + "\n", 0644); !noted) {
        return fail(noted.error().code, "installed, but the store could not record it: " + noted.error().message);
    }
    return installed;
}

Result<std::vector<std::string>> offered_versions(const Store& store, const std::string& app) {
    auto result = appstore::run_worker(store.config.worker_uid,
                                       [&](int fd) {
                                           auto outcome = [&]() -> Result<json::Value> {
                                               if (auto ready = prepare_worker_dirs(store); !ready)
                                                   return fail(ready.error());
                                               fetch::HttpOptions http;
                                               http.proxy = store.config.proxy;
                                               http.ca_file = store.config.ca_file;
                                               const auto fetcher = fetch::make_fetcher(http);
                                               appstore::AppStore app_store(client_config(store), *fetcher);
                                               auto versions = app_store.versions(app);
                                               if (!versions) return fail(versions.error());
                                               json::Array list;
                                               for (const auto& version : *versions) list.emplace_back(version);
                                               return json::sorted_object({{"versions", json::Value(std::move(list))}});
                                           }();
                                           return report_in_worker(fd, outcome);
                                       },
                                       {});
    if (!result) return fail(result.error());
    auto versions = strings_of(*result, "versions");
    if (!versions) return fail(versions.error());
    for (const auto& version : *versions) {
        if (!archpkg::check_full_version(version)) return fail(ErrorCode::parse, "worker result: a malformed version");
    }
    return versions;
}

Json installed_json(const Target& target, const Installed& installed) {
    return {{"app", target.local},
            {"repository_app", target.app},
            {"version", installed.version},
            {"changed", !installed.unchanged},
            {"packages", installed.packages},
            {"warnings", installed.warnings}};
}

std::string installed_text(const Target& target, const Installed& installed) {
    if (installed.unchanged) return target.local + " " + installed.version + " is installed already\n";
    std::string out;
    for (const auto& warning : installed.warnings) out += "warning: " + appstore::printable(warning) + "\n";
    return out + "installed " + target.local + " " + installed.version + " (" + std::to_string(installed.packages) +
           " packages" + (installed.uid.empty() ? "" : ", host uid " + installed.uid) + ")\n";
}

int run_install(const StoreOptions& options, const std::string& socket) {
    auto target = parse_target(options);
    if (!target) return cli::report_error(target.error(), options.json);
    auto store = load_store(options.config);
    if (!store) return cli::report_error(store.error(), options.json);
    auto lock = open_state(*store);
    if (!lock) return cli::report_error(lock.error(), options.json);
    auto installed = install(*store, *target, socket, progress_printer(options.json));
    end_progress_line(options.json);
    if (!installed) return cli::report_error(installed.error(), options.json);
    if (options.json) {
        Json out = {{"schema", "bulkhead.app-install/1"}};
        out.update(installed_json(*target, *installed));
        return cli::print_text(out.dump() + "\n") ? cli::kExitOk : cli::kExitRefused;
    }
    return cli::print_text(installed_text(*target, *installed)) ? cli::kExitOk : cli::kExitRefused;
}

int run_versions(const StoreOptions& options, const std::string& socket) {
    auto target = parse_target(options);
    if (!target) return cli::report_error(target.error(), options.json);
    if (target->version) {
        return cli::report_usage_error("versions takes an app name, not NAME=VERSION", "bulkhead app versions --help");
    }
    auto store = load_store(options.config);
    if (!store) return cli::report_error(store.error(), options.json);
    auto lock = open_state(*store);
    if (!lock) return cli::report_error(lock.error(), options.json);
    auto versions = offered_versions(*store, target->app);
    if (!versions) return cli::report_error(versions.error(), options.json);
    // Which one is installed here, when bulkheadd answers and this store installed it.
    std::optional<std::string> current;
    if (auto listed = installed_apps(socket);
        listed && read_file_bounded(record_dir(*store) + "/" + target->local, kMaxRecordBytes)) {
        for (const auto& [name, version] : *listed) {
            if (name == target->local) current = version;
        }
    }
    if (options.json) {
        Json out = {{"schema", "bulkhead.app-versions/1"},
                    {"app", target->app},
                    {"versions", *versions},
                    {"installed", current ? Json(*current) : Json(nullptr)}};
        return cli::print_text(out.dump() + "\n") ? cli::kExitOk : cli::kExitRefused;
    }
    std::string out;
    // Newest first.
    const std::vector<std::string> newest_first(versions->rbegin(), versions->rend());
    for (const auto& version : newest_first) {
        out += version + (current && *current == version ? "  (installed)" : "") + "\n";
    }
    return cli::print_text(out) ? cli::kExitOk : cli::kExitRefused;
}

int run_update(const StoreOptions& options, const std::string& socket) {
    auto store = load_store(options.config);
    if (!store) return cli::report_error(store.error(), options.json);
    auto lock = open_state(*store);
    if (!lock) return cli::report_error(lock.error(), options.json);
    // The apps this store installed (or the one named), each to the newest version offered.
    auto installed_now = installed_apps(socket);
    if (!installed_now) return cli::report_error(installed_now.error(), options.json);
    std::vector<Target> targets;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(record_dir(*store), error)) {
        const std::string local = entry.path().filename().string();
        if (!options.target.empty() && local != options.target) continue;
        auto recorded = read_file_bounded(entry.path().string(), kMaxRecordBytes);
        if (!recorded || !apps::check_app_name(local)) continue;
        // A record of an app that was removed since is stale: it is dropped, not reinstalled.
        if (std::none_of(installed_now->begin(), installed_now->end(),
                         [&](const auto& app) { return app.first == local; })) {
            (void)::unlink(entry.path().c_str());
            continue;
        }
        targets.push_back({recorded->substr(0, recorded->find('\n')), local, std::nullopt});
    }
    if (error)
        return cli::report_error({ErrorCode::io, "reading " + record_dir(*store) + ": " + error.message()},
                                 options.json);
    if (!options.target.empty() && targets.empty()) {
        return cli::report_error({ErrorCode::not_found, "the app store installed no app named " + options.target},
                                 options.json);
    }
    Json results = Json::array();
    std::string out;
    bool all_ok = true;
    for (const Target& target : targets) {
        auto installed = install(*store, target, socket, progress_printer(options.json));
        end_progress_line(options.json);
        if (!installed) {
            all_ok = false;
            results.push_back(
                {{"app", target.local},
                 {"error",
                  {{"code", error_code_name(installed.error().code)}, {"message", installed.error().message}}}});
            out += target.local + ": not updated: " + installed.error().message + "\n";
            continue;
        }
        results.push_back(installed_json(target, *installed));
        out += installed->unchanged ? target.local + " " + installed->version + " is the newest\n"
                                    : installed_text(target, *installed);
    }
    if (options.json) {
        const Json document = {{"schema", "bulkhead.app-update/1"}, {"apps", results}};
        if (!cli::print_text(document.dump() + "\n")) return cli::kExitRefused;
    } else if (!cli::print_text(targets.empty() ? std::string("no apps from the app store are installed\n") : out)) {
        return cli::kExitRefused;
    }
    return all_ok ? cli::kExitOk : cli::kExitRefused;
}

}  // namespace

CommandRunner register_app_store(CLI::App& apps, const std::string& socket) {
    auto options = std::make_shared<StoreOptions>();
    auto common = [&](CLI::App* sub) {
        sub->add_option("--config", options->config, "The store configuration (default /etc/bulkhead/appstore.toml)");
        sub->add_flag("--json", options->json, "Print the result as JSON (progress events go to stderr as JSON)");
        return sub;
    };
    CLI::App* install_command = common(apps.add_subcommand(
        "install", "Install an app from the app repository, the newest version unless one is named (needs root)"));
    install_command->add_option("app", options->target, "NAME or NAME=VERSION")->required();
    install_command->add_option("--as", options->local_as, "The app's name on this machine (default: NAME)");
    CLI::App* versions_command =
        common(apps.add_subcommand("versions", "List the versions of an app the repository offers (needs root)"));
    versions_command->add_option("app", options->target, "NAME")->required();
    versions_command->add_option("--as", options->local_as,
                                 "The app's name on this machine, to mark the installed version");
    CLI::App* update_command = common(apps.add_subcommand(
        "update", "Update the apps installed from the app repository, or one of them, to the newest version"));
    update_command->add_option("app", options->target, "The app's name on this machine");
    return [options, install_command, versions_command, update_command, &socket]() -> int {
        if (install_command->parsed()) return run_install(*options, socket);
        if (versions_command->parsed()) return run_versions(*options, socket);
        if (update_command->parsed()) return run_update(*options, socket);
        return -1;
    };
}

}  // namespace bulkhead::cmd
