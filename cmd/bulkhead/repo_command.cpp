// `bulkhead repo`: a TUF repository on disk (docs/REPO.md). Parses the command line, unlocks
// keys, and hands everything else to tuf_repo::Repository.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/file_io.hpp"
#include "cli/output.hpp"
#include "cli/passphrase.hpp"
#include "commands.hpp"
#include "crypto/secret_box.hpp"
#include "json/parse.hpp"
#include "tuf/time.hpp"
#include "tuf_repo/repository.hpp"

namespace bulkhead::cmd {

namespace {

constexpr std::size_t kMaxKeyFileBytes = 65536;
constexpr std::size_t kMaxCustomBytes = 65536;
constexpr std::size_t kMaxSignatureFileBytes = std::size_t{64} << 20;

struct RepoOptions {
    std::string dir;
    std::vector<std::string> root_keys, targets_keys, snapshot_keys, timestamp_keys, keys;
    std::int64_t root_threshold = 1, targets_threshold = 1, threshold = 1;
    std::vector<std::string> expiry;
    std::string path, file, custom, role, from = "targets", expires, prefix = "bins", passphrase_file;
    std::vector<std::string> roles, patterns, hash_prefixes, files;
    unsigned bits = 8;
    bool terminating = false;
    bool json = false;
};

using Json = nlohmann::ordered_json;

Result<tuf_repo::RoleKeySet> public_keys(const std::vector<std::string>& files, std::int64_t threshold) {
    tuf_repo::RoleKeySet set{{}, threshold};
    for (const std::string& file : files) {
        auto bytes = read_file_bounded(file, kMaxKeyFileBytes);
        if (!bytes) return fail(bytes.error());
        auto identity = tuf_repo::read_public_key(*bytes);
        if (!identity) return fail(identity.error().code, file + ": " + identity.error().message);
        set.keys.push_back(std::move(*identity));
    }
    return set;
}

// Unlocks a private key: the passphrase comes from --passphrase-file or the terminal.
Result<tuf_repo::SigningKey> unlock(const std::string& file, const RepoOptions& options) {
    auto bytes = read_file_bounded(file, kMaxKeyFileBytes);
    if (!bytes) return fail(bytes.error());
    auto encrypted = tuf_repo::key_file_is_encrypted(*bytes);
    if (!encrypted) return fail(encrypted.error().code, file + ": " + encrypted.error().message);
    std::optional<std::string> passphrase;
    if (*encrypted) {
        auto entered = cli::read_passphrase(
            options.passphrase_file.empty() ? std::nullopt : std::optional<std::string>(options.passphrase_file),
            "Passphrase for " + file + ": ", false);
        if (!entered) return fail(entered.error());
        passphrase = std::move(*entered);
    }
    auto key = tuf_repo::read_key_file(*bytes, passphrase);
    if (passphrase) crypto::wipe(*passphrase);
    if (!key) return fail(key.error().code, file + ": " + key.error().message);
    return key;
}

Result<std::vector<tuf_repo::SigningKey>> unlock_all(const std::vector<std::string>& files,
                                                     const RepoOptions& options) {
    std::vector<tuf_repo::SigningKey> keys;
    for (const std::string& file : files) {
        auto key = unlock(file, options);
        if (!key) return fail(key.error());
        keys.push_back(std::move(*key));
    }
    return keys;
}

int done(const Json& document, const std::string& text, bool json) {
    const bool printed = json ? cli::print_json(document) : cli::print_text(text);
    return printed ? cli::kExitOk : cli::kExitRefused;
}

Result<tuf::RoleType> top_level_role(const std::string& name) {
    for (const tuf::RoleType type :
         {tuf::RoleType::root, tuf::RoleType::targets, tuf::RoleType::snapshot, tuf::RoleType::timestamp}) {
        if (tuf::role_type_name(type) == name) return type;
    }
    return fail(ErrorCode::invalid_argument, "--role must be root, targets, snapshot or timestamp");
}

// Opens the repository, runs `change`, and commits only when it succeeded.
template <typename Change>
Result<void> change_and_commit(const RepoOptions& options, Change&& change) {
    auto repository = tuf_repo::Repository::open(options.dir, tuf::now());
    if (!repository) return fail(repository.error());
    if (auto changed = change(*repository); !changed) return changed;
    return repository->commit();
}

int init(const RepoOptions& options) {
    tuf_repo::InitOptions init;
    for (const std::string& assignment : options.expiry) {
        if (auto set = init.expiry.set(assignment); !set) return cli::report_error(set.error(), options.json);
    }
    auto root = public_keys(options.root_keys, options.root_threshold);
    auto targets = public_keys(options.targets_keys, options.targets_threshold);
    auto snapshot = public_keys(options.snapshot_keys, 1);
    auto timestamp = public_keys(options.timestamp_keys, 1);
    for (const auto* keys : {&root, &targets, &snapshot, &timestamp}) {
        if (!*keys) return cli::report_error(keys->error(), options.json);
    }
    init.root = std::move(*root);
    init.targets = std::move(*targets);
    init.snapshot = std::move(*snapshot);
    init.timestamp = std::move(*timestamp);
    auto created = tuf_repo::Repository::create(options.dir, init, tuf::now());
    if (!created) return cli::report_error(created.error(), options.json);
    return done(
        {{"initialised", options.dir}, {"staged", {"root", "targets"}}},
        "initialised " + options.dir + "; root v1 and targets v1 are staged: sign them (repo sign), then publish\n",
        options.json);
}

int add_target(const RepoOptions& options) {
    std::optional<json::Value> custom;
    if (!options.custom.empty()) {
        if (options.custom.size() > kMaxCustomBytes) {
            return cli::report_error({ErrorCode::too_large, "--custom is larger than 64 KiB"}, options.json);
        }
        auto parsed = json::parse(options.custom);
        if (!parsed) return cli::report_error({ErrorCode::parse, "--custom: " + parsed.error().message}, options.json);
        custom = std::move(*parsed);
    }
    const std::optional<std::string> role = options.role.empty() ? std::nullopt : std::optional(options.role);
    auto result = change_and_commit(options, [&](tuf_repo::Repository& repository) {
        return repository.add_target(options.path, tuf_repo::TargetFilePath{options.file}, custom, role);
    });
    if (!result) return cli::report_error(result.error(), options.json);
    return done({{"added", options.path}}, "staged target " + options.path + "\n", options.json);
}

int remove_target(const RepoOptions& options) {
    const std::optional<std::string> role = options.role.empty() ? std::nullopt : std::optional(options.role);
    auto result = change_and_commit(
        options, [&](tuf_repo::Repository& repository) { return repository.remove_target(options.path, role); });
    if (!result) return cli::report_error(result.error(), options.json);
    return done({{"removed", options.path}}, "staged the removal of " + options.path + "\n", options.json);
}

int delegate(const RepoOptions& options) {
    auto keys = public_keys(options.keys, options.threshold);
    if (!keys) return cli::report_error(keys.error(), options.json);
    tuf_repo::DelegationRequest request{options.from,        options.role,     std::move(*keys),
                                        options.terminating, options.patterns, options.hash_prefixes};
    auto result =
        change_and_commit(options, [&](tuf_repo::Repository& repository) { return repository.delegate(request); });
    if (!result) return cli::report_error(result.error(), options.json);
    return done({{"delegated", options.role}, {"from", options.from}},
                options.from + " now delegates to " + options.role + " (both staged)\n", options.json);
}

int delegate_bins(const RepoOptions& options) {
    auto keys = public_keys(options.keys, options.threshold);
    if (!keys) return cli::report_error(keys.error(), options.json);
    tuf_repo::BinsRequest request{options.from, options.bits, options.prefix, std::move(*keys)};
    auto result =
        change_and_commit(options, [&](tuf_repo::Repository& repository) { return repository.delegate_bins(request); });
    if (!result) return cli::report_error(result.error(), options.json);
    const std::int64_t count = std::int64_t{1} << options.bits;
    return done({{"bins", count}, {"from", options.from}, {"prefix", options.prefix}},
                options.from + " now delegates to " + std::to_string(count) + " hash bins " + options.prefix +
                    "-* (all staged)\n",
                options.json);
}

int rotate(const RepoOptions& options) {
    auto type = top_level_role(options.role);
    if (!type) return cli::report_usage_error(type.error().message, "bulkhead repo rotate");
    auto keys = public_keys(options.keys, options.threshold);
    if (!keys) return cli::report_error(keys.error(), options.json);
    auto result =
        change_and_commit(options, [&](tuf_repo::Repository& repository) { return repository.rotate(*type, *keys); });
    if (!result) return cli::report_error(result.error(), options.json);
    return done({{"rotated", options.role}},
                "staged a new root with new " + options.role +
                    " keys; it needs the thresholds of both the old and the new root keys\n",
                options.json);
}

int renew(const RepoOptions& options) {
    std::optional<tuf::UnixSeconds> expires;
    if (!options.expires.empty()) {
        auto parsed = tuf::parse_expires(options.expires);
        if (!parsed)
            return cli::report_error({ErrorCode::invalid_argument, "--expires: " + parsed.error().message},
                                     options.json);
        expires = *parsed;
    }
    auto result = change_and_commit(
        options, [&](tuf_repo::Repository& repository) { return repository.renew(options.role, expires); });
    if (!result) return cli::report_error(result.error(), options.json);
    return done({{"renewed", options.role}}, "staged " + options.role + " with a new version and expiry\n",
                options.json);
}

int sign(const RepoOptions& options) {
    auto key = unlock(options.file, options);
    if (!key) return cli::report_error(key.error(), options.json);
    std::vector<std::string> signed_roles;
    auto result = change_and_commit(options, [&](tuf_repo::Repository& repository) -> Result<void> {
        auto signed_now = repository.sign(*key, options.roles);
        if (!signed_now) return fail(signed_now.error());
        signed_roles = std::move(*signed_now);
        return {};
    });
    if (!result) return cli::report_error(result.error(), options.json);
    std::string text = "signed with " + key->identity.keyid + ":";
    for (const std::string& role : signed_roles) text += " " + role;
    return done({{"keyid", key->identity.keyid}, {"signed", signed_roles}}, text + "\n", options.json);
}

int merge(const RepoOptions& options) {
    std::size_t added = 0;
    auto result = change_and_commit(options, [&](tuf_repo::Repository& repository) -> Result<void> {
        for (const std::string& file : options.files) {
            auto bytes = read_file_bounded(file, kMaxSignatureFileBytes);
            if (!bytes) return fail(bytes.error());
            auto envelope = tuf_repo::read_envelope(*bytes);
            if (!envelope) return fail(envelope.error().code, file + ": " + envelope.error().message);
            auto merged = repository.merge_signatures(options.role, *envelope);
            if (!merged) return fail(merged.error().code, file + ": " + merged.error().message);
            added += *merged;
        }
        return {};
    });
    if (!result) return cli::report_error(result.error(), options.json);
    return done({{"role", options.role}, {"added", added}},
                "merged " + std::to_string(added) + " new signature(s) into staged " + options.role + "\n",
                options.json);
}

int publish(const RepoOptions& options) {
    auto snapshot = unlock_all(options.snapshot_keys, options);
    if (!snapshot) return cli::report_error(snapshot.error(), options.json);
    auto timestamp = unlock_all(options.timestamp_keys, options);
    if (!timestamp) return cli::report_error(timestamp.error(), options.json);
    std::vector<const tuf_repo::SigningKey*> snapshot_keys;
    std::vector<const tuf_repo::SigningKey*> timestamp_keys;
    for (const auto& key : *snapshot) snapshot_keys.push_back(&key);
    for (const auto& key : *timestamp) timestamp_keys.push_back(&key);
    auto repository = tuf_repo::Repository::open(options.dir, tuf::now());
    if (!repository) return cli::report_error(repository.error(), options.json);
    auto published = repository->publish(snapshot_keys, timestamp_keys);
    if (!published) return cli::report_error(published.error(), options.json);
    Json roles = Json::array();
    std::string text;
    for (const auto& [name, version] : published->roles) {
        roles.push_back({{"role", name}, {"version", version}});
        text += "published " + name + " v" + std::to_string(version) + "\n";
    }
    text += "snapshot v" + std::to_string(published->snapshot_version) + ", timestamp v" +
            std::to_string(published->timestamp_version) + "\n";
    return done({{"roles", roles},
                 {"snapshot_version", published->snapshot_version},
                 {"timestamp_version", published->timestamp_version}},
                text, options.json);
}

int status(const RepoOptions& options) {
    auto repository = tuf_repo::Repository::open(options.dir, tuf::now());
    if (!repository) return cli::report_error(repository.error(), options.json);
    auto report = repository->status();
    if (!report) return cli::report_error(report.error(), options.json);
    Json roles = Json::array();
    std::string text;
    for (const tuf_repo::RoleStatus& role : report->roles) {
        Json entry{{"role", role.name},
                   {"published_version", role.published_version},
                   {"staged", role.staged},
                   {"version", role.version},
                   {"expires", tuf::format_expires(role.expires)},
                   {"threshold", role.threshold},
                   {"signed_by", role.signed_by},
                   {"missing", role.missing},
                   {"targets", role.target_count}};
        roles.push_back(entry);
        text += role.name + ": " + (role.staged ? "staged v" : "published v") + std::to_string(role.version) +
                ", expires " + tuf::format_expires(role.expires) + ", signatures " +
                std::to_string(role.signed_by.size()) + "/" + std::to_string(role.threshold);
        if (role.target_count > 0) text += ", " + std::to_string(role.target_count) + " targets";
        text += "\n";
    }
    Json document{{"schema", "bulkhead.repo-status/1"}, {"roles", roles}};
    if (report->snapshot_expires) {
        document["snapshot"] = {{"version", report->snapshot_version},
                                {"expires", tuf::format_expires(*report->snapshot_expires)}};
        text += "snapshot: v" + std::to_string(report->snapshot_version) + ", expires " +
                tuf::format_expires(*report->snapshot_expires) + "\n";
    }
    if (report->timestamp_expires) {
        document["timestamp"] = {{"version", report->timestamp_version},
                                 {"expires", tuf::format_expires(*report->timestamp_expires)}};
        text += "timestamp: v" + std::to_string(report->timestamp_version) + ", expires " +
                tuf::format_expires(*report->timestamp_expires) + "\n";
    }
    document["warnings"] = report->warnings;
    for (const std::string& warning : report->warnings) text += "warning: " + warning + "\n";
    return done(document, text, options.json);
}

}  // namespace

CommandRunner register_repo(CLI::App& app) {
    auto options = std::make_shared<RepoOptions>();
    RepoOptions& o = *options;
    CLI::App* repo = app.add_subcommand("repo", "Build, sign and publish a TUF repository");
    repo->require_subcommand(1, 1);
    auto common = [&o](CLI::App* command) {
        command->add_option("dir", o.dir, "Repository directory")->required()->type_name("DIR");
        command->add_flag("--json", o.json, "Print the result as JSON");
    };
    auto passphrase = [&o](CLI::App* command) {
        command
            ->add_option(
                "--passphrase-file", o.passphrase_file,
                "Read the passphrase of every encrypted key from the first line of FILE (default: ask on the terminal)")
            ->type_name("FILE");
    };

    CLI::App* init_command = repo->add_subcommand("init", "Create a repository; root v1 and targets v1 are staged");
    common(init_command);
    init_command->add_option("--root-key", o.root_keys, "Root public key (key file or `keys public --json` output)")
        ->required();
    init_command->add_option("--root-threshold", o.root_threshold, "Root signatures needed")->check(CLI::Range(1, 255));
    init_command->add_option("--targets-key", o.targets_keys, "Targets public key")->required();
    init_command->add_option("--targets-threshold", o.targets_threshold, "Targets signatures needed")
        ->check(CLI::Range(1, 255));
    init_command->add_option("--snapshot-key", o.snapshot_keys, "Snapshot (online) public key")->required();
    init_command->add_option("--timestamp-key", o.timestamp_keys, "Timestamp (online) public key")->required();
    init_command->add_option("--expiry", o.expiry,
                             "ROLE=DAYS, e.g. timestamp=2 (defaults root=365 targets=90 snapshot=7 timestamp=1)");

    CLI::App* add_command = repo->add_subcommand("add-target", "Stage a target file");
    common(add_command);
    add_command->add_option("--path", o.path, "Target path clients ask for, e.g. apps/foo-1.0.tar.zst")->required();
    add_command->add_option("file", o.file, "File with the target's contents")->required()->check(CLI::ExistingFile);
    add_command->add_option("--custom", o.custom, "Custom metadata: a JSON object");
    add_command->add_option("--role", o.role, "Targets role to list it in (default: its hash bin, or targets)");

    CLI::App* remove_command = repo->add_subcommand("remove-target", "Stage the removal of a target");
    common(remove_command);
    remove_command->add_option("--path", o.path, "Target path")->required();
    remove_command->add_option("--role", o.role, "Targets role that lists it (default as for add-target)");

    CLI::App* delegate_command =
        repo->add_subcommand("delegate", "Delegate path patterns or hash prefixes to a new role");
    common(delegate_command);
    delegate_command->add_option("--role", o.role, "Name of the new role")->required();
    delegate_command->add_option("--from", o.from, "Delegating role (default targets)");
    delegate_command->add_option("--key", o.keys, "Public key of the new role")->required();
    delegate_command->add_option("--threshold", o.threshold, "Signatures needed")->check(CLI::Range(1, 255));
    CLI::Option* paths = delegate_command->add_option("--path", o.patterns, "Path pattern, e.g. 'apps/*'");
    CLI::Option* prefixes =
        delegate_command->add_option("--hash-prefix", o.hash_prefixes, "Hex prefix of SHA-256(path)");
    paths->excludes(prefixes);
    delegate_command->add_flag("--terminating", o.terminating, "Clients stop searching after this role");

    CLI::App* bins_command =
        repo->add_subcommand("delegate-bins", "Delegate every path to 2^N succinct hash bins (TAP 15)");
    common(bins_command);
    bins_command->add_option("--bits", o.bits, "Number of bits: 2^N bins")->required()->check(CLI::Range(1, 16));
    bins_command->add_option("--prefix", o.prefix, "Bin name prefix (default bins)");
    bins_command->add_option("--from", o.from, "Delegating role (default targets)");
    bins_command->add_option("--key", o.keys, "Public key of the bins")->required();
    bins_command->add_option("--threshold", o.threshold, "Signatures needed")->check(CLI::Range(1, 255));

    CLI::App* rotate_command = repo->add_subcommand("rotate", "Stage root N+1 with new keys for a top-level role");
    common(rotate_command);
    rotate_command->add_option("--role", o.role, "root, targets, snapshot or timestamp")->required();
    rotate_command->add_option("--key", o.keys, "New public key")->required();
    rotate_command->add_option("--threshold", o.threshold, "Signatures needed")->check(CLI::Range(1, 255));

    CLI::App* renew_command = repo->add_subcommand("renew", "Stage a role with a new version and expiry");
    common(renew_command);
    renew_command->add_option("--role", o.role, "Role to renew")->required();
    renew_command->add_option("--expires", o.expires, "YYYY-MM-DDTHH:MM:SSZ (default: the expiry policy)");

    CLI::App* sign_command = repo->add_subcommand("sign", "Add one key's signature to staged roles");
    common(sign_command);
    sign_command->add_option("--key", o.file, "Private key file")->required()->check(CLI::ExistingFile);
    sign_command->add_option("--role", o.roles, "Role to sign (default: every staged role the key may sign)");
    passphrase(sign_command);

    CLI::App* merge_command =
        repo->add_subcommand("merge-signatures", "Merge signatures made on other machines into a staged role");
    common(merge_command);
    merge_command->add_option("--role", o.role, "Staged role the files sign")->required();
    merge_command->add_option("files", o.files, "Signed copies of DIR/staged/ROLE.json")
        ->required()
        ->check(CLI::ExistingFile);

    CLI::App* publish_command =
        repo->add_subcommand("publish", "Publish staged roles with a new snapshot and timestamp");
    common(publish_command);
    publish_command->add_option("--snapshot-key", o.snapshot_keys, "Snapshot private key file");
    publish_command->add_option("--timestamp-key", o.timestamp_keys, "Timestamp private key file")->required();
    passphrase(publish_command);

    CLI::App* status_command = repo->add_subcommand("status", "Versions, expiries, signatures and staged changes");
    common(status_command);

    return [=]() -> int {
        if (init_command->parsed()) return init(*options);
        if (add_command->parsed()) return add_target(*options);
        if (remove_command->parsed()) return remove_target(*options);
        if (delegate_command->parsed()) return delegate(*options);
        if (bins_command->parsed()) return delegate_bins(*options);
        if (rotate_command->parsed()) return rotate(*options);
        if (renew_command->parsed()) return renew(*options);
        if (sign_command->parsed()) return sign(*options);
        if (merge_command->parsed()) return merge(*options);
        if (publish_command->parsed()) return publish(*options);
        if (status_command->parsed()) return status(*options);
        return -1;
    };
}

}  // namespace bulkhead::cmd
