#include "appstore/client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "archpkg/package.hpp"
#include "archpkg/tree_writer.hpp"
#include "archpkg/version.hpp"
#include "attest/link.hpp"
#include "base/file_io.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "crypto/digest.hpp"
#include "tuf/updater.hpp"

namespace bulkhead::appstore {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxLinkTargets = 64;

tuf::Updater make_updater(const ClientConfig& config, fetch::Fetcher& fetcher) {
    return {config.metadata_dir, config.metadata_url, (fs::path(config.cache_dir) / "targets").string(),
            config.targets_url, fetcher};
}

Result<std::string> download_small(tuf::Updater& updater, const std::string& path, std::size_t max_bytes) {
    auto info = updater.get_targetinfo(path);
    if (!info) return fail(info.error());
    if (!*info) return fail(ErrorCode::not_found, "the repository has no target " + path);
    if ((*info)->file.length < 0 || static_cast<std::uint64_t>((*info)->file.length) > max_bytes) {
        return fail(ErrorCode::too_large, path + " is larger than allowed");
    }
    auto local = updater.download_target(**info);
    if (!local) return fail(local.error());
    return read_file_bounded(*local, max_bytes);
}

// Fetches `url` into a new file beside the cache, checking length and hashes as it arrives.
Result<std::string> fetch_checked(fetch::Fetcher& fetcher, const std::string& url, const tuf::TargetInfo& target,
                                  const std::string& cache_dir, const Progress& progress) {
    std::string temp = (fs::path(cache_dir) / ".package-XXXXXX").string();
    const UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd.valid()) return fail(Error::from_errno(errno, "creating a download file in " + cache_dir));
    auto check = tuf::LengthAndHashCheck::start(target.file.length, target.file.hashes, target.path);
    if (!check) {
        ::unlink(temp.c_str());
        return fail(check.error());
    }
    const auto total = static_cast<std::uint64_t>(target.file.length);
    std::uint64_t received = 0;
    auto fetched = fetcher.fetch(url, static_cast<std::size_t>(total), [&](std::string_view chunk) -> Result<void> {
        check->update(chunk);
        received += chunk.size();
        if (progress) progress({"download", target.path, received, total});
        return write_all(fd.get(), chunk, temp);
    });
    Result<void> verified = fetched ? check->finish() : Result<void>(fail(fetched.error()));
    if (!verified) {
        ::unlink(temp.c_str());
        return fail(verified.error());
    }
    return temp;
}

struct PackageMetadata {
    std::vector<std::string> urls;
    std::string verdict;
    std::vector<std::string> agreeing;
};

Result<PackageMetadata> package_metadata(const tuf::TargetInfo& info) {
    const auto refuse = [&](std::string_view why) {
        return fail(ErrorCode::parse, concat({"the targets metadata of ", info.path, " ", why}));
    };
    if (!info.file.custom) return refuse("has no custom metadata");
    const auto* archpkg = info.file.custom->find("archpkg");
    if (archpkg == nullptr || !archpkg->is_object()) return refuse("has no archpkg custom metadata");
    PackageMetadata metadata;
    const auto strings = [&](const json::Value* list, std::vector<std::string>& out) -> bool {
        if (list == nullptr || !list->is_array()) return false;
        for (const auto& item : list->as_array()) {
            if (!item.is_string()) return false;
            out.push_back(item.as_string());
        }
        return true;
    };
    const auto* origin = archpkg->find("origin");
    if (origin == nullptr || !strings(origin->find("urls"), metadata.urls)) return refuse("has no origin URLs");
    const auto* patchless = archpkg->find("patchless");
    const auto* verdict = patchless == nullptr ? nullptr : patchless->find("verdict");
    if (verdict == nullptr || !verdict->is_string()) return refuse("has no patchless verdict");
    metadata.verdict = verdict->as_string();
    const auto* reproducibility = archpkg->find("reproducibility");
    if (reproducibility == nullptr || !strings(reproducibility->find("agreeing"), metadata.agreeing)) {
        return refuse("names no rebuilders");
    }
    if (metadata.agreeing.size() > kMaxLinkTargets) return refuse("names more than 64 rebuilders");
    return metadata;
}

// The hex digest the targets metadata lists for `algorithm`, or "".
std::string hash_hex(const tuf::Hashes& hashes, std::string_view algorithm) {
    for (const auto& [name, digest] : hashes) {
        if (name == algorithm) return digest;
    }
    return {};
}

}  // namespace

Result<std::vector<std::string>> AppStore::versions(std::string_view app) {
    std::error_code error;
    fs::create_directories(fs::path(config_.cache_dir) / "targets", error);
    if (error) return fail(ErrorCode::io, concat({"creating ", config_.cache_dir, ": ", error.message()}));
    auto updater = make_updater(config_, fetcher_);
    if (auto refreshed = updater.refresh(); !refreshed) return fail(refreshed.error());
    const auto path = concat({"apps/", app, "/versions.json"});
    auto info = updater.get_targetinfo(path);
    if (!info) return fail(info.error());
    if (!*info) return fail(ErrorCode::not_found, concat({"the repository has no app named '", valid_utf8(app), "'"}));
    auto index = download_small(updater, path, kMaxIndexBytes);
    if (!index) return fail(index.error());
    return parse_versions_index(*index, app);
}

Result<PreparedApp> AppStore::prepare(std::string_view app, const std::optional<std::string>& version,
                                      const std::string& tree_dir, const Progress& progress) {
    if (auto checked = attest::check_policy(config_.rebuilders); !checked) return fail(checked.error());
    if (auto checked = archpkg::check_package_name(app); !checked) return fail(checked.error());
    if (progress) progress({"refresh", std::string(app), 0, 0});
    auto offered = versions(app);
    if (!offered) return fail(offered.error());
    if (offered->empty()) return fail(ErrorCode::not_found, concat({"the repository offers no version of ", app}));
    std::string chosen = version.value_or(offered->back());
    if (version && std::find(offered->begin(), offered->end(), *version) == offered->end()) {
        std::string list;
        for (const auto& offered_version : *offered) list += concat({list.empty() ? "" : ", ", offered_version});
        return fail(ErrorCode::not_found, concat({app, " ", *version, " is not offered (versions: ", list, ")"}));
    }

    auto updater = make_updater(config_, fetcher_);
    if (auto refreshed = updater.refresh(); !refreshed) return fail(refreshed.error());
    auto manifest_text =
        download_small(updater, concat({"apps/", app, "/", chosen, "/closure.json"}), kMaxManifestBytes);
    if (!manifest_text) return fail(manifest_text.error());
    auto manifest = parse_manifest(*manifest_text, app, chosen);
    if (!manifest) return fail(manifest.error());

    PreparedApp prepared;
    prepared.manifest = std::move(manifest).value();
    auto writer = archpkg::TreeWriter::open(tree_dir);
    if (!writer) return fail(writer.error());

    // Every package is checked against TUF and the policies before anything is unpacked.
    struct Checked {
        const ManifestPackage* package;
        tuf::TargetInfo info;
        PackageMetadata metadata;
    };
    std::vector<Checked> checked;
    checked.reserve(prepared.manifest.packages.size());
    for (const auto& package : prepared.manifest.packages) {
        auto info = updater.get_targetinfo(package.target);
        if (!info) return fail(info.error());
        if (!*info) return fail(ErrorCode::not_found, "the repository has no target " + package.target);
        if (hash_hex((*info)->file.hashes, "sha256") != package.sha256) {
            return fail(ErrorCode::integrity, concat({"the closure manifest and the targets metadata disagree on the "
                                                      "sha256 of ",
                                                      package.file}));
        }
        auto metadata = package_metadata(**info);
        if (!metadata) return fail(metadata.error());
        // The verdict of this app version is the manifest's: it is bound to the version, while a
        // package's custom metadata is that of its latest curation.
        const auto& verdict = package.patchless;
        if (verdict != "patchless") {
            const auto why = concat(
                {package.name, " ", package.version, " is ", verdict,
                 verdict == "patched" ? " (its recipe changes upstream's sources)" : " (its recipe was not judged)"});
            if (config_.patches == PatchPolicy::require) {
                return fail(ErrorCode::not_signed, why + "; the patch policy requires patchless packages");
            }
            prepared.warnings.push_back(why);
        }
        // The rebuilders' links, as targets, checked with the client's own keys and threshold.
        std::vector<std::string> links;
        for (const auto& keyid : metadata->agreeing) {
            if (!attest::is_keyid(keyid)) {
                return fail(ErrorCode::parse,
                            concat({"the targets metadata of ", package.file, " names a malformed rebuilder keyid"}));
            }
            auto link = download_small(updater, attest::attestation_target(package.file, keyid), attest::kMaxLinkBytes);
            if (!link) return fail(link.error());
            links.push_back(std::move(link).value());
        }
        if (progress) progress({"verify", package.file, 0, 0});
        // sha256 from the targets metadata (equal to the manifest's, checked above) and sha512
        // from the manifest: both signed, and the rebuilders' links must match both.
        auto reproduced =
            attest::check_reproducible(config_.rebuilders, package.file,
                                       {hex_decode(package.sha256).value(), hex_decode(package.sha512).value()}, links);
        if (!reproduced) return fail(reproduced.error());
        checked.push_back({&package, std::move(**info), std::move(metadata).value()});
    }

    std::uint64_t unpacked = 0;  // packages, for the progress of building the tree
    for (const auto& [package, info, metadata] : checked) {
        // Any mirror will do: what counts is that the bytes match the targets metadata.
        std::vector<std::string> tried;
        std::optional<std::string> file;
        bool from_mirror = false;
        if (config_.use_package_mirrors) {
            for (const auto& url : metadata.urls) {
                auto fetched = fetch_checked(fetcher_, url, info, config_.cache_dir, progress);
                if (fetched) {
                    file = std::move(fetched).value();
                    from_mirror = true;
                    break;
                }
                tried.push_back(concat({url, ": ", fetched.error().message}));
            }
        }
        if (!file) {
            auto fetched = updater.download_target(info);
            if (!fetched) {
                tried.push_back(concat({config_.targets_url, ": ", fetched.error().message}));
                std::string all;
                for (const auto& attempt : tried) all += concat({"; ", attempt});
                return fail(ErrorCode::integrity,
                            concat({"no mirror delivered ", package->file, " as the targets metadata lists it", all}));
            }
            file = std::move(fetched).value();
        }
        if (progress) progress({"unpack", package->file, unpacked++, checked.size()});
        (*writer)->set_package(package->file);
        auto read = archpkg::read_package_file(*file, {}, writer->get());
        // A mirror's copy is not kept; the repository's own copy stays in the cache.
        if (from_mirror) ::unlink(file->c_str());
        if (!read) return fail(read.error());
        // The bytes unpacked are the bytes the metadata pins, hashed in the same pass that read them.
        if (!crypto::constant_time_equal(hex_encode(read->sha256), package->sha256) ||
            !crypto::constant_time_equal(hex_encode(read->sha512), package->sha512) ||
            read->file_size != static_cast<std::uint64_t>(info.file.length)) {
            return fail(ErrorCode::integrity,
                        concat({package->file, " changed between its download and its unpacking"}));
        }
        if (read->info.name != package->name || read->info.version != package->version) {
            return fail(ErrorCode::integrity, concat({package->file, " holds ", read->info.name, " ",
                                                      read->info.version, ", not what the closure manifest says"}));
        }
    }
    if (auto finished = (*writer)->finish(); !finished) return fail(finished.error());
    if (progress) progress({"unpack", std::string(app), unpacked, checked.size()});
    return prepared;
}

}  // namespace bulkhead::appstore
