#include "curate/curator.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "archpkg/version.hpp"
#include "base/file_io.hpp"
#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "json/write.hpp"

namespace bulkhead::curate {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxLinksPerPackage = 64;
constexpr std::size_t kMaxVersionsJsonBytes = 16U << 20U;

json::Value text(std::string_view value) { return json::Value(std::string(value)); }
json::Value integer(std::int64_t value) { return json::Value(value); }
json::Value texts(const std::vector<std::string>& values) {
    json::Array array;
    array.reserve(values.size());
    for (const auto& value : values) array.push_back(text(value));
    return json::Value(std::move(array));
}

bool is_valid_text(std::string_view value) {
    return valid_utf8(value) == value && value.find('\0') == std::string_view::npos;
}

bool is_snapshot_date(std::string_view date) {
    constexpr std::size_t kLength = 10;
    if (date.size() != kLength || date[4] != '-' || date[7] != '-') return false;
    for (std::size_t i = 0; i < kLength; ++i) {
        if (i != 4 && i != 7 && (date[i] < '0' || date[i] > '9')) return false;
    }
    return true;
}

// A plain file name from a database, safe to join to a directory.
Result<void> check_file_name(std::string_view name) {
    if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..") {
        return fail(ErrorCode::parse, concat({"'", valid_utf8(name), "' is not a plain file name"}));
    }
    return {};
}

Result<std::vector<std::string>> read_links(const std::string& attestations_dir, const std::string& file_name) {
    const fs::path dir = fs::path(attestations_dir) / file_name;
    std::error_code error;
    if (!fs::is_directory(dir, error)) {
        return fail(ErrorCode::not_found,
                    concat({"no rebuilder attestations for ", file_name, " (", dir.string(), ")"}));
    }
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
        if (entry.path().extension() == ".link") names.push_back(entry.path().filename().string());
        if (names.size() > kMaxLinksPerPackage) {
            return fail(ErrorCode::too_large, concat({dir.string(), " holds more than 64 links"}));
        }
    }
    if (error) return fail(ErrorCode::io, concat({"reading ", dir.string(), ": ", error.message()}));
    std::sort(names.begin(), names.end());
    std::vector<std::string> links;
    links.reserve(names.size());
    for (const auto& name : names) {
        auto link = read_file_bounded((dir / name).string(), attest::kMaxLinkBytes);
        if (!link) return fail(link.error());
        links.push_back(std::move(link).value());
    }
    return links;
}

// The packager's detached signature: FILE.sig beside the package, or the one the database
// embeds; when both are there they must be the same bytes. Recorded and published, not
// verified: trust comes from TUF and the rebuilders, not from the packager's key.
Result<std::string> read_signature(const std::string& package_path, const archpkg::RepoPackage& listed,
                                   std::string_view repository) {
    const std::string path = package_path + ".sig";
    std::error_code error;
    if (!fs::exists(fs::symlink_status(path, error))) return listed.pgp_signature;
    auto file = read_file_bounded(path, archpkg::kMaxSignatureBytes);
    if (!file) return fail(file.error());
    if (!listed.pgp_signature.empty() && *file != listed.pgp_signature) {
        return fail(ErrorCode::integrity,
                    concat({path, " is not the signature ", repository, ".db lists for ", listed.file_name}));
    }
    return file;
}

Result<PatchEvidence> judge_recipe(const std::string& recipes_dir, const archpkg::Package& package) {
    PatchEvidence unknown;
    unknown.pkgbuild_sha256 = package.build.pkgbuild_sha256;
    if (recipes_dir.empty()) return unknown;
    const fs::path recipe = fs::path(recipes_dir) / package.info.base;
    std::error_code error;
    if (!fs::exists(recipe / "PKGBUILD", error)) return unknown;
    auto pkgbuild = read_file_bounded((recipe / "PKGBUILD").string(), kMaxRecipeBytes);
    if (!pkgbuild) return fail(pkgbuild.error());
    auto srcinfo = read_file_bounded((recipe / ".SRCINFO").string(), kMaxRecipeBytes);
    if (!srcinfo)
        return fail(srcinfo.error().code,
                    concat({"the recipe of ", package.info.base, " has a PKGBUILD but: ", srcinfo.error().message}));
    auto evidence = assess_patches(*srcinfo, *pkgbuild, package.build.pkgbuild_sha256);
    if (!evidence) return fail(evidence.error().code, concat({package.info.name, ": ", evidence.error().message}));
    return evidence;
}

json::Value patch_value(const PatchEvidence& evidence) {
    json::Array findings;
    findings.reserve(evidence.findings.size());
    for (const auto& finding : evidence.findings) {
        findings.push_back(json::sorted_object({{"file", text(finding.file)},
                                                {"line", integer(static_cast<std::int64_t>(finding.line))},
                                                {"rule", text(finding.rule)},
                                                {"text", text(valid_utf8(finding.text))}}));
    }
    return json::sorted_object({{"verdict", text(patch_verdict_name(evidence.verdict))},
                                {"pkgbuild_sha256", text(evidence.pkgbuild_sha256)},
                                {"sources", texts(evidence.sources)},
                                {"findings", json::Value(std::move(findings))}});
}

json::Value dependencies_value(const std::vector<archpkg::Dependency>& dependencies) {
    std::vector<std::string> out;
    out.reserve(dependencies.size());
    for (const auto& dependency : dependencies) out.push_back(archpkg::format_dependency(dependency));
    return texts(out);
}

std::vector<std::string> policy_keyids(const attest::RebuilderPolicy& policy) {
    std::vector<std::string> keyids;
    keyids.reserve(policy.keys.size());
    for (const auto& key : policy.keys) keyids.push_back(key.keyid);
    std::sort(keyids.begin(), keyids.end());
    return keyids;
}

json::Value package_custom(const CurateRequest& request, const CuratedPackage& curated) {
    const auto& info = curated.package.info;
    const auto& build = curated.package.build;
    auto buildinfo = json::sorted_object({{"format", integer(build.format)},
                                          {"pkgbuild_sha256", text(build.pkgbuild_sha256)},
                                          {"builddate", integer(build.build_date)},
                                          {"packager", text(build.packager)},
                                          {"buildtool", text(build.build_tool)},
                                          {"buildtoolver", text(build.build_tool_version)}});
    auto origin = json::sorted_object({{"distro", text(request.distro)},
                                       {"repository", text(curated.repository)},
                                       {"snapshot", text(request.snapshot)},
                                       {"urls", texts(curated.urls)}});
    auto signature =
        curated.signature.empty()
            ? json::Value()
            : json::sorted_object(
                  {{"target", text(signature_target(curated.file_name))},
                   {"sha256", text(hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, curated.signature)))},
                   {"verified", json::Value(false)}});
    auto reproducibility =
        json::sorted_object({{"threshold", integer(static_cast<std::int64_t>(request.rebuilders.threshold))},
                             {"keyids", texts(policy_keyids(request.rebuilders))},
                             {"agreeing", texts(curated.counted_keyids)}});
    return json::sorted_object({{"archpkg", json::sorted_object({{"name", text(info.name)},
                                                                 {"base", text(info.base)},
                                                                 {"version", text(info.version)},
                                                                 {"arch", text(info.arch)},
                                                                 {"depends", dependencies_value(info.depends)},
                                                                 {"provides", dependencies_value(info.provides)},
                                                                 {"origin", std::move(origin)},
                                                                 {"buildinfo", std::move(buildinfo)},
                                                                 {"patchless", patch_value(curated.patches)},
                                                                 {"upstream_signature", std::move(signature)},
                                                                 {"reproducibility", std::move(reproducibility)}})}});
}

std::string run_command(const CurateRequest& request) {
    return request.command.empty() ? concat({"/usr/bin/", request.app}) : request.command;
}

std::string manifest_text(const CurateRequest& request, const CuratedApp& app) {
    json::Array packages;
    packages.reserve(app.packages.size());
    for (const auto& curated : app.packages) {
        packages.push_back(json::sorted_object({{"name", text(curated.package.info.name)},
                                                {"version", text(curated.package.info.version)},
                                                {"repository", text(curated.repository)},
                                                {"file", text(curated.file_name)},
                                                {"target", text(package_target(curated.file_name))},
                                                {"sha256", text(hex_encode(curated.package.sha256))},
                                                {"sha512", text(hex_encode(curated.package.sha512))},
                                                {"size", integer(static_cast<std::int64_t>(curated.package.file_size))},
                                                {"patchless", text(patch_verdict_name(curated.patches.verdict))},
                                                {"required_by", texts(curated.required_by)}}));
    }
    return json::to_json(json::sorted_object(
        {{"format", integer(1)},
         {"app", text(app.app)},
         {"version", text(app.version)},
         {"distro", text(request.distro)},
         {"snapshot", text(request.snapshot)},
         {"rebuilder_threshold", integer(static_cast<std::int64_t>(request.rebuilders.threshold))},
         {"rebuilder_keyids", texts(policy_keyids(request.rebuilders))},
         {"run", json::sorted_object({{"command", text(run_command(request))}, {"args", texts(request.args)}})},
         {"packages", json::Value(std::move(packages))}}));
}

std::vector<std::string> sorted_texts(const std::vector<archpkg::Dependency>& dependencies) {
    std::vector<std::string> out;
    out.reserve(dependencies.size());
    for (const auto& dependency : dependencies) out.push_back(archpkg::format_dependency(dependency));
    std::sort(out.begin(), out.end());
    return out;
}

Result<void> check_database_agrees(const archpkg::RepoPackage& listed, const archpkg::Package& package,
                                   std::string_view repository) {
    const auto& info = package.info;
    const auto differ = [&](std::string_view field) {
        return fail(ErrorCode::integrity, concat({repository, ".db and ", listed.file_name, "'s .PKGINFO disagree on ",
                                                  field, ": the database is not the one these packages came with"}));
    };
    if (listed.base != info.base) return differ("pkgbase");
    if (listed.arch != info.arch) return differ("the architecture");
    if (sorted_texts(listed.depends) != sorted_texts(info.depends)) return differ("depends");
    if (sorted_texts(listed.provides) != sorted_texts(info.provides)) return differ("provides");
    if (sorted_texts(listed.conflicts) != sorted_texts(info.conflicts)) return differ("conflicts");
    if (sorted_texts(listed.replaces) != sorted_texts(info.replaces)) return differ("replaces");
    return {};
}

}  // namespace

std::string package_target(std::string_view file_name) { return concat({"packages/", file_name}); }
std::string signature_target(std::string_view file_name) { return concat({"signatures/", file_name, ".sig"}); }
std::string closure_target(std::string_view app, std::string_view version) {
    return concat({"apps/", app, "/", version, "/closure.json"});
}
std::string versions_target(std::string_view app) { return concat({"apps/", app, "/versions.json"}); }

Result<CuratedApp> curate_app(const CurateRequest& request) {
    if (auto checked = archpkg::check_package_name(request.app); !checked) return fail(checked.error());
    if (!is_snapshot_date(request.snapshot)) {
        return fail(ErrorCode::invalid_argument,
                    "the snapshot date must be YYYY-MM-DD, not '" + request.snapshot + "'");
    }
    if (request.repositories.empty()) return fail(ErrorCode::invalid_argument, "no repository snapshot given");
    if (auto checked = attest::check_policy(request.rebuilders); !checked) return fail(checked.error());
    const auto command = run_command(request);
    if (!command.starts_with('/') || command.find("/../") != std::string::npos || !is_valid_text(command)) {
        return fail(ErrorCode::invalid_argument, "the app's command must be an absolute path, not '" + command + "'");
    }

    std::vector<archpkg::RepoDatabase> databases;
    databases.reserve(request.repositories.size());
    for (const auto& repository : request.repositories) {
        auto database = archpkg::read_repo_database_file(repository.database_path);
        if (!database) return fail(database.error());
        databases.push_back(std::move(database).value());
    }
    std::vector<Repository> sources;
    sources.reserve(databases.size());
    for (std::size_t i = 0; i < databases.size(); ++i) sources.push_back({request.repositories[i].name, &databases[i]});
    auto closure = resolve_closure(sources, request.app, request.closure);
    if (!closure) return fail(closure.error());

    CuratedApp app;
    app.app = request.app;
    for (const auto& member : *closure) {
        const auto& listed = *member.package;
        const auto& snapshot = *std::find_if(request.repositories.begin(), request.repositories.end(),
                                             [&](const SnapshotRepository& r) { return r.name == member.repository; });
        if (auto checked = check_file_name(listed.file_name); !checked) return fail(checked.error());
        CuratedPackage curated;
        curated.repository = member.repository;
        curated.required_by = member.required_by;
        curated.file_name = listed.file_name;
        curated.file_path = (fs::path(snapshot.package_dir) / listed.file_name).string();
        curated.urls.reserve(snapshot.mirror_urls.size());
        for (const auto& base : snapshot.mirror_urls) curated.urls.push_back(base + listed.file_name);
        // The cheap check first: a file of another size is not the one the database lists.
        std::error_code size_error;
        const auto size = fs::file_size(curated.file_path, size_error);
        if (size_error) return fail(ErrorCode::not_found, concat({curated.file_path, ": ", size_error.message()}));
        if (size != listed.compressed_size) {
            return fail(ErrorCode::integrity,
                        concat({curated.file_path, " is ", std::to_string(size), " bytes, not the ",
                                std::to_string(listed.compressed_size), " that ", member.repository, ".db lists"}));
        }
        auto package = archpkg::read_package_file(curated.file_path);
        if (!package) return fail(package.error());
        // The database is the mirror's word; the file must be the package it describes.
        if (!crypto::constant_time_equal(package->sha256, listed.sha256)) {
            return fail(ErrorCode::integrity, concat({curated.file_path, " does not have the sha256 that ",
                                                      member.repository, ".db lists for it"}));
        }
        if (package->info.name != listed.name || package->info.version != listed.version) {
            return fail(ErrorCode::integrity,
                        concat({curated.file_path, " is ", package->info.name, " ", package->info.version, ", not ",
                                listed.name, " ", listed.version, " as ", member.repository, ".db says"}));
        }
        // The closure was resolved from the database, which nobody signed: its relations must be
        // the ones the package declares itself.
        if (auto same = check_database_agrees(listed, *package, member.repository); !same) return fail(same.error());
        curated.package = std::move(package).value();
        auto signature = read_signature(curated.file_path, listed, member.repository);
        if (!signature) return fail(signature.error());
        curated.signature = std::move(signature).value();
        auto patches = judge_recipe(request.recipes_dir, curated.package);
        if (!patches) return fail(patches.error());
        curated.patches = std::move(patches).value();
        auto links = read_links(request.attestations_dir, listed.file_name);
        if (!links) return fail(links.error());
        auto reproduced = attest::check_reproducible(request.rebuilders, listed.file_name,
                                                     {curated.package.sha256, curated.package.sha512}, *links);
        if (!reproduced) return fail(reproduced.error());
        curated.reproducibility = std::move(reproduced).value();
        // Only the links that counted are published, one per agreeing rebuilder.
        for (const auto& link_text : *links) {
            auto link = attest::parse_link(link_text);
            const auto signers = attest::valid_signers(*link, request.rebuilders.keys);
            for (const auto& keyid : signers) {
                const auto product = link->products.find(listed.file_name);
                if (product == link->products.end() ||
                    std::find(curated.counted_keyids.begin(), curated.counted_keyids.end(), keyid) !=
                        curated.counted_keyids.end()) {
                    continue;
                }
                curated.counted_keyids.push_back(keyid);
                curated.counted_links.push_back(link_text);
            }
        }
        if (member.package->name == request.app) app.version = curated.package.info.version;
        app.packages.push_back(std::move(curated));
    }
    app.manifest = manifest_text(request, app);
    return app;
}

Result<void> stage_app(tuf_repo::Repository& repository, const CurateRequest& request, const CuratedApp& app) {
    // The versions already published or staged, from the top-level targets role.
    auto envelope = repository.envelope("targets");
    if (!envelope) return fail(envelope.error());
    std::vector<std::string> versions = {app.version};
    const auto prefix = concat({"apps/", app.app, "/"});
    const auto closure_path = closure_target(app.app, app.version);
    const auto listed_sha256 = [](const json::Value& info) -> std::string {
        const auto* hashes = info.find("hashes");
        const auto* sha256 = hashes == nullptr ? nullptr : hashes->find("sha256");
        return sha256 != nullptr && sha256->is_string() ? sha256->as_string() : std::string();
    };
    const auto* targets = envelope->signed_part.find("targets");
    if (targets != nullptr && targets->is_object()) {
        if (const auto* existing = targets->find(closure_path)) {
            if (listed_sha256(*existing) != hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, app.manifest))) {
                return fail(ErrorCode::invalid_argument,
                            concat({app.app, " ", app.version,
                                    " is already published with a different closure; versions are immutable"}));
            }
            return {};  // the same version with the same closure: nothing to do
        }
        // A package file another version already uses must be the same bytes, or that version breaks.
        for (const auto& curated : app.packages) {
            const auto* existing = targets->find(package_target(curated.file_name));
            if (existing != nullptr && listed_sha256(*existing) != hex_encode(curated.package.sha256)) {
                return fail(ErrorCode::invalid_argument,
                            concat({package_target(curated.file_name),
                                    " is already published with other contents; a published package never changes"}));
            }
            const auto* signed_before = targets->find(signature_target(curated.file_name));
            if (signed_before != nullptr &&
                listed_sha256(*signed_before) !=
                    hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, curated.signature))) {
                return fail(ErrorCode::invalid_argument,
                            concat({signature_target(curated.file_name), " is already published with other contents"}));
            }
        }
        for (const auto& [path, info] : targets->as_object()) {
            if (!path.starts_with(prefix) || !path.ends_with("/closure.json")) continue;
            const auto version = path.substr(prefix.size(), path.size() - prefix.size() - 13);
            if (version.find('/') == std::string::npos &&
                std::find(versions.begin(), versions.end(), version) == versions.end()) {
                versions.push_back(version);
            }
        }
    }
    archpkg::sort_versions(versions);

    for (const auto& curated : app.packages) {
        if (auto added =
                repository.add_target(package_target(curated.file_name), tuf_repo::TargetFilePath{curated.file_path},
                                      package_custom(request, curated), std::string("targets"));
            !added) {
            return fail(added.error());
        }
        if (!curated.signature.empty()) {
            if (auto added =
                    repository.add_target(signature_target(curated.file_name), tuf_repo::TargetBytes{curated.signature},
                                          std::nullopt, std::string("targets"));
                !added) {
                return fail(added.error());
            }
        }
        for (std::size_t i = 0; i < curated.counted_links.size(); ++i) {
            const auto path = attest::attestation_target(curated.file_name, curated.counted_keyids[i]);
            if (auto added = repository.add_target(path, tuf_repo::TargetBytes{curated.counted_links[i]}, std::nullopt,
                                                   std::string("targets"));
                !added) {
                return fail(added.error());
            }
        }
    }
    auto app_custom =
        json::sorted_object({{"app", json::sorted_object({{"id", text(app.app)}, {"version", text(app.version)}})}});
    if (auto added = repository.add_target(closure_path, tuf_repo::TargetBytes{app.manifest}, std::move(app_custom),
                                           std::string("targets"));
        !added) {
        return fail(added.error());
    }
    auto versions_json = json::to_json(json::sorted_object({{"app", text(app.app)}, {"versions", texts(versions)}}));
    if (versions_json.size() > kMaxVersionsJsonBytes) return fail(ErrorCode::too_large, "versions.json is too large");
    if (auto added = repository.add_target(versions_target(app.app), tuf_repo::TargetBytes{std::move(versions_json)},
                                           std::nullopt, std::string("targets"));
        !added) {
        return fail(added.error());
    }
    return repository.commit();
}

}  // namespace bulkhead::curate
