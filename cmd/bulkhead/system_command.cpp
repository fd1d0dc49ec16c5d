// `bulkhead system publish | bundle | check-bundle`: core releases as TUF targets, update
// bundles made from a published repository, and the core's verification of a bundle
// (docs/UPDATES.md). Installing a bundle into a slot is not built yet.
#include <cstdint>
#include <memory>
#include <string>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "bundle/bundle.hpp"
#include "cli/output.hpp"
#include "commands.hpp"
#include "json/parse.hpp"
#include "tuf/time.hpp"
#include "tuf_repo/repository.hpp"
#include "update/core_release.hpp"
#include "update/make_bundle.hpp"
#include "update/verify_bundle.hpp"

namespace bulkhead::cmd {

namespace {

constexpr std::size_t kMaxManifestBytes = 65536;
constexpr std::size_t kMaxRootBytes = std::size_t{1} << 20;

struct SystemOptions {
    std::string repo;
    std::string image;
    std::int64_t release = 0;
    std::string out;
    std::string bundle;
    std::string trusted_root;
    bool json = false;
};

nlohmann::ordered_json release_json(const update::CoreRelease& release) {
    return {{"release", release.release},
            {"version", release.version},
            {"security_version", release.security_version},
            {"root_hash", release.root_hash}};
}

int done(const nlohmann::ordered_json& document, const std::string& text, bool json) {
    const bool printed = json ? cli::print_json(document) : cli::print_text(text);
    return printed ? cli::kExitOk : cli::kExitRefused;
}

// The release an image directory (made by `bulkhead image build`) becomes.
Result<update::CoreRelease> release_of_image(const std::string& image, std::int64_t release) {
    auto text = read_file_bounded(image + "/manifest.json", kMaxManifestBytes);
    if (!text) return fail(text.error());
    auto manifest = json::parse(*text);
    if (!manifest) return fail(ErrorCode::parse, concat({image, "/manifest.json: ", manifest.error().message}));
    const json::Value* format = manifest->find("format");
    const json::Value* version = manifest->find("version");
    const json::Value* security = manifest->find("security_version");
    const json::Value* root_hash = manifest->find("root_hash");
    if (format == nullptr || !format->is_string() || format->as_string() != "bulkhead-image/1" || version == nullptr ||
        !version->is_string() || security == nullptr || !security->is_integer() || root_hash == nullptr ||
        !root_hash->is_string()) {
        return fail(ErrorCode::parse, concat({image,
                                              "/manifest.json is not a bulkhead-image/1 manifest with a "
                                              "version, security_version and root_hash"}));
    }
    const update::CoreRelease core{release, version->as_string(),
                                   static_cast<std::uint32_t>(std::max<std::int64_t>(0, security->as_integer())),
                                   root_hash->as_string()};
    // The same rules the core applies when it reads the targets back.
    auto checked = update::parse_core_custom(update::core_custom(core, update::Part::uki));
    if (!checked) return fail(checked.error());
    if (security->as_integer() != static_cast<std::int64_t>(core.security_version)) {
        return fail(ErrorCode::parse, "the manifest's security_version is out of range");
    }
    return core;
}

int publish(const SystemOptions& options) {
    auto core = release_of_image(options.image, options.release);
    if (!core) return cli::report_error(core.error(), options.json);
    auto repository = tuf_repo::Repository::open(options.repo, tuf::now());
    if (!repository) return cli::report_error(repository.error(), options.json);
    for (const auto& [part, file] :
         {std::pair{update::Part::uki, "bulkhead.efi"}, std::pair{update::Part::verity, "root.verity"},
          std::pair{update::Part::root, "root.erofs"}}) {
        auto added = repository->add_target(update::core_target_path(core->release, part),
                                            tuf_repo::TargetFilePath{concat({options.image, "/", file})},
                                            update::core_custom(*core, part), std::nullopt);
        if (!added) return cli::report_error(added.error(), options.json);
    }
    if (auto committed = repository->commit(); !committed) return cli::report_error(committed.error(), options.json);
    return done(
        release_json(*core),
        concat({"staged core release ", std::to_string(core->release), " (image ", core->version, ", security version ",
                std::to_string(core->security_version), "): sign targets (repo sign), then publish\n"}),
        options.json);
}

int make_bundle(const SystemOptions& options) {
    auto made = update::bundle_from_published(options.repo + "/published", options.release, options.out);
    if (!made) return cli::report_error(made.error(), options.json);
    auto document = release_json(*made);
    document["bundle"] = options.out;
    return done(document,
                concat({"wrote ", options.out, " with core release ", std::to_string(made->release), " (image ",
                        made->version, ")\n"}),
                options.json);
}

int check_bundle(const SystemOptions& options) {
    auto trusted_root = read_file_bounded(options.trusted_root, kMaxRootBytes);
    if (!trusted_root) return cli::report_error(trusted_root.error(), options.json);
    auto opened = bundle::Bundle::open(options.bundle);
    if (!opened) return cli::report_error(opened.error(), options.json);
    auto verified = update::verify_bundle(*opened, *trusted_root, tuf::now());
    if (!verified) return cli::report_error(verified.error(), options.json);
    auto document = release_json(verified->release);
    document["root_version"] = verified->root_version;
    document["targets_version"] = verified->targets_version;
    return done(
        document,
        concat({options.bundle, ": verified core release ", std::to_string(verified->release.release), " (image ",
                verified->release.version, ", security version ", std::to_string(verified->release.security_version),
                ", root hash ", verified->release.root_hash, ")\n"}),
        options.json);
}

}  // namespace

CommandRunner register_system(CLI::App& app) {
    auto options = std::make_shared<SystemOptions>();
    CLI::App* system = app.add_subcommand("system", "Publish, bundle and check system core updates");
    system->require_subcommand(1, 1);

    CLI::App* publish_command =
        system->add_subcommand("publish", "Stage an image built by `bulkhead image build` as a core release");
    publish_command->add_option("--repo", options->repo, "TUF repository directory (bulkhead repo)")->required();
    publish_command->add_option("--image", options->image, "Image directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    publish_command->add_option("--release", options->release, "Release number (orders releases; 1 and up)")
        ->required()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));

    CLI::App* bundle_command =
        system->add_subcommand("bundle", "Write an update bundle from a repository's published tree");
    bundle_command->add_option("--repo", options->repo, "TUF repository directory (bulkhead repo)")->required();
    bundle_command->add_option("--release", options->release, "Release to bundle (default: the newest)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
    bundle_command->add_option("--out", options->out, "Bundle file to create (never overwritten)")->required();

    CLI::App* check_command =
        system->add_subcommand("check-bundle", "Verify an update bundle against a trusted root, changing nothing");
    check_command->add_option("bundle", options->bundle, "Update bundle")->required();
    check_command->add_option("--trusted-root", options->trusted_root, "The root.json the core trusts")
        ->required()
        ->check(CLI::ExistingFile);

    for (CLI::App* command : {publish_command, bundle_command, check_command}) {
        command->add_flag("--json", options->json, "Print the result as JSON");
    }
    return [publish_command, bundle_command, check_command, options]() -> int {
        if (publish_command->parsed()) return publish(*options);
        if (bundle_command->parsed()) return make_bundle(*options);
        if (check_command->parsed()) return check_bundle(*options);
        return -1;
    };
}

}  // namespace bulkhead::cmd
