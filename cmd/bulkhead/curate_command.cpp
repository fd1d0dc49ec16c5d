// `bulkhead curate`: one app version from a snapshot of Arch repositories, checked and staged
// as TUF targets (docs/PACKAGES.md). Parses the command line and hands everything else to
// curate::curate_app and curate::stage_app.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attest/link.hpp"
#include "base/file_io.hpp"
#include "base/text.hpp"
#include "cli/output.hpp"
#include "commands.hpp"
#include "curate/curator.hpp"
#include "tuf/time.hpp"

namespace bulkhead::cmd {

namespace {

constexpr std::size_t kMaxKeyFileBytes = 65536;

struct CurateOptions {
    std::string app, repo, snapshot, attestations, recipes, distro = "archlinux", command;
    std::vector<std::string> repositories, package_dirs, mirrors, rebuilder_keys, prefer, args;
    std::size_t threshold = 1;
    bool json = false;
};

using Json = nlohmann::ordered_json;

// NAME=VALUE, split at the first '='.
Result<std::pair<std::string, std::string>> assignment(const std::string& text, std::string_view option) {
    const auto equals = text.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
        return fail(ErrorCode::invalid_argument, concat({option, " takes NAME=VALUE, not '", text, "'"}));
    }
    return std::pair{text.substr(0, equals), text.substr(equals + 1)};
}

Result<curate::CurateRequest> build_request(const CurateOptions& options) {
    curate::CurateRequest request;
    request.app = options.app;
    request.distro = options.distro;
    request.snapshot = options.snapshot;
    request.attestations_dir = options.attestations;
    request.recipes_dir = options.recipes;
    request.closure.preferred_providers = options.prefer;
    request.command = options.command;
    request.args = options.args;
    for (const auto& text : options.repositories) {
        auto parsed = assignment(text, "--repository");
        if (!parsed) return fail(parsed.error());
        for (const auto& existing : request.repositories) {
            if (existing.name == parsed->first) {
                return fail(ErrorCode::invalid_argument, "--repository " + parsed->first + " is given twice");
            }
        }
        const auto slash = parsed->second.rfind('/');
        const auto dir = slash == std::string::npos ? std::string(".") : parsed->second.substr(0, slash);
        request.repositories.push_back({parsed->first, parsed->second, dir, {}});
    }
    const auto find = [&](const std::string& name, std::string_view option) -> Result<curate::SnapshotRepository*> {
        for (auto& repository : request.repositories) {
            if (repository.name == name) return &repository;
        }
        return fail(ErrorCode::invalid_argument, concat({option, " names ", name, ", which no --repository gives"}));
    };
    for (const auto& text : options.package_dirs) {
        auto parsed = assignment(text, "--packages");
        if (!parsed) return fail(parsed.error());
        auto repository = find(parsed->first, "--packages");
        if (!repository) return fail(repository.error());
        (*repository)->package_dir = parsed->second;
    }
    for (const auto& text : options.mirrors) {
        auto parsed = assignment(text, "--mirror");
        if (!parsed) return fail(parsed.error());
        auto repository = find(parsed->first, "--mirror");
        if (!repository) return fail(repository.error());
        (*repository)->mirror_urls.push_back(parsed->second);
    }
    for (const auto& file : options.rebuilder_keys) {
        auto bytes = read_file_bounded(file, kMaxKeyFileBytes);
        if (!bytes) return fail(bytes.error());
        auto key = attest::parse_rebuilder_key(*bytes);
        if (!key) return fail(key.error().code, file + ": " + key.error().message);
        request.rebuilders.keys.push_back(std::move(key).value());
    }
    request.rebuilders.threshold = options.threshold;
    return request;
}

int run_curate(const CurateOptions& options) {
    auto request = build_request(options);
    if (!request) return cli::report_error(request.error(), options.json);
    auto app = curate::curate_app(*request);
    if (!app) return cli::report_error(app.error(), options.json);
    auto repository = tuf_repo::Repository::open(options.repo, tuf::now());
    if (!repository) return cli::report_error(repository.error(), options.json);
    if (auto staged = curate::stage_app(*repository, *request, *app); !staged) {
        return cli::report_error(staged.error(), options.json);
    }

    Json packages = Json::array();
    std::string text = concat({"staged ", app->app, " ", app->version, " (", std::to_string(app->packages.size()),
                               " packages) in ", options.repo, "\n"});
    for (const auto& curated : app->packages) {
        const auto verdict = curate::patch_verdict_name(curated.patches.verdict);
        packages.push_back({{"name", curated.package.info.name},
                            {"version", curated.package.info.version},
                            {"repository", curated.repository},
                            {"file", curated.file_name},
                            {"sha256", hex_encode(curated.package.sha256)},
                            {"patchless", verdict},
                            {"rebuilders", curated.counted_keyids.size()}});
        text += concat({"  ", curated.repository, "/", curated.package.info.name, " ", curated.package.info.version,
                        ": reproduced by ", std::to_string(curated.counted_keyids.size()), " of ",
                        std::to_string(request->rebuilders.keys.size()), " rebuilders, ", verdict, "\n"});
    }
    text += "sign and publish with `bulkhead repo sign` and `bulkhead repo publish`\n";
    const Json document = {{"app", app->app},
                           {"version", app->version},
                           {"closure", curate::closure_target(app->app, app->version)},
                           {"packages", packages}};
    const bool printed = options.json ? cli::print_json(document) : cli::print_text(text);
    return printed ? cli::kExitOk : cli::kExitRefused;
}

}  // namespace

CommandRunner register_curate(CLI::App& app) {
    auto options = std::make_shared<CurateOptions>();
    CurateOptions& o = *options;
    CLI::App* curate = app.add_subcommand(
        "curate", "Check an app's packages (closure, .MTREE, rebuilders, patches) and stage them as TUF targets");
    curate->add_option("app", o.app, "The app's package name")->required();
    curate->add_option("--repo", o.repo, "TUF repository directory (from `bulkhead repo init`)")->required();
    curate->add_option("--snapshot", o.snapshot, "Date of the repository snapshot, YYYY-MM-DD")->required();
    curate->add_option("--repository", o.repositories, "NAME=REPO.db, in order of preference (core before extra)")
        ->required();
    curate->add_option("--packages", o.package_dirs,
                       "NAME=DIR holding that repository's package files (default: the "
                       "database's directory)");
    curate->add_option("--mirror", o.mirrors, "NAME=URL of a mirror of that repository directory (repeatable)");
    curate->add_option("--attestations", o.attestations, "DIR with FILE/*.link rebuilder links for each package")
        ->required()
        ->check(CLI::ExistingDirectory);
    curate->add_option("--rebuilder-key", o.rebuilder_keys, "Trusted rebuilder public key (in-toto JSON form)")
        ->required();
    curate->add_option("--rebuilder-threshold", o.threshold, "Distinct trusted rebuilders that must agree")
        ->check(CLI::Range(1, 255));
    curate
        ->add_option("--recipes", o.recipes, "DIR with PKGBASE/PKGBUILD and PKGBASE/.SRCINFO for the patchless verdict")
        ->check(CLI::ExistingDirectory);
    curate->add_option("--prefer", o.prefer, "Provider to choose when several packages provide a dependency");
    curate->add_option("--command", o.command, "What the app's VM runs (default: /usr/bin/APP)");
    curate->add_option("--arg", o.args, "An argument of the command (repeatable)");
    curate->add_option("--distro", o.distro, "Distribution name recorded as the origin")->capture_default_str();
    curate->add_flag("--json", o.json, "Print the result as JSON");
    return [=]() -> int { return curate->parsed() ? run_curate(*options) : -1; };
}

}  // namespace bulkhead::cmd
