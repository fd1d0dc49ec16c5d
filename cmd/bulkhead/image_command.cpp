// `bulkhead keys secureboot-init DIR` and `bulkhead image build`: the owner's Secure Boot keys,
// and a signed, verified system core image built from a spec (docs/IMAGE.md).
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "cli/output.hpp"
#include "cli/passphrase.hpp"
#include "commands.hpp"
#include "crypto/secret_box.hpp"
#include "gpt/gpt.hpp"
#include "image/builder.hpp"
#include "image/spec.hpp"
#include "secureboot/efi_variables.hpp"
#include "secureboot/owner_keys.hpp"
#include "tuf/time.hpp"
#include "tuf/trusted_set.hpp"

namespace bulkhead::cmd {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxKeyBytes = 65536;
constexpr std::size_t kMaxSpecBytes = std::size_t{256} * 1024;
constexpr std::size_t kMaxRootBytes = std::size_t{1} << 20;

struct ImageOptions {
    std::string dir;
    std::string passphrase_file;
    std::string owner_guid;
    std::string spec;
    std::string out;
    std::string keys;
    std::optional<std::string> version;
    std::optional<std::int64_t> security_version;
    std::string update_root;
    bool json = false;
};

Result<std::string> passphrase_of(const ImageOptions& options, const std::string& prompt, bool confirm) {
    return cli::read_passphrase(
        options.passphrase_file.empty() ? std::nullopt : std::optional<std::string>(options.passphrase_file), prompt,
        confirm);
}

secureboot::EfiTime now_utc() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    return {static_cast<std::uint16_t>(utc.tm_year + 1900), static_cast<std::uint8_t>(utc.tm_mon + 1),
            static_cast<std::uint8_t>(utc.tm_mday),         static_cast<std::uint8_t>(utc.tm_hour),
            static_cast<std::uint8_t>(utc.tm_min),          static_cast<std::uint8_t>(utc.tm_sec)};
}

Result<void> make_owner_keys(const ImageOptions& options, std::string& passphrase, const std::string& work) {
    gpt::Guid owner{};
    if (options.owner_guid.empty()) {
        auto random = crypto::random_bytes(16);
        if (!random) return fail(random.error());
        owner = gpt::guid_from_bytes(*random);
    } else {
        auto parsed = gpt::parse_guid(options.owner_guid);
        if (!parsed) return fail(parsed.error());
        owner = *parsed;
    }
    if (auto written = write_file_atomically(work + "/owner.guid", gpt::guid_text(owner) + "\n", 0644); !written) {
        return written;
    }
    struct Made {
        secureboot::OwnerKey key;
        std::string esl;
    };
    std::vector<Made> made;
    for (const char* role : {"PK", "KEK", "db"}) {
        auto key = secureboot::generate_owner_key(concat({"Bulkhead owner ", role}), passphrase);
        if (!key) return fail(key.error());
        const std::string base = concat({work, "/", role});
        std::string esl = secureboot::signature_list(key->certificate_der, owner);
        for (const auto& [suffix, bytes, mode] :
             {std::tuple{".key", key->encrypted_key_pem, 0600}, std::tuple{".crt", key->certificate_pem, 0644},
              std::tuple{".esl", esl, 0644}}) {
            if (auto written = write_file_atomically(base + suffix, bytes, static_cast<mode_t>(mode)); !written) {
                return written;
            }
        }
        made.push_back({std::move(*key), std::move(esl)});
    }
    // Signed updates for a firmware in setup mode or an owner rotating keys: PK signs itself and
    // KEK, KEK signs db.
    const secureboot::EfiTime time = now_utc();
    for (const auto& [variable, data_index, signer_index] :
         {std::tuple{"PK", 0, 0}, std::tuple{"KEK", 1, 0}, std::tuple{"db", 2, 1}}) {
        const Made& signer = made[static_cast<std::size_t>(signer_index)];
        auto secret = secureboot::decrypt_owner_key(signer.key.encrypted_key_pem, passphrase);
        if (!secret) return fail(secret.error());
        auto update = secureboot::signed_update(variable, time, made[static_cast<std::size_t>(data_index)].esl, *secret,
                                                signer.key.certificate_pem);
        crypto::wipe(*secret);
        if (!update) return fail(update.error());
        if (auto written = write_file_atomically(concat({work, "/", variable, ".auth"}), *update, 0644); !written) {
            return written;
        }
    }
    return {};
}

// Private keys pass through this process: no core dump or ptrace by the same user may see them.
void protect_secrets() {
    (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const rlimit no_core{0, 0};
    (void)::setrlimit(RLIMIT_CORE, &no_core);
}

int secureboot_init(const ImageOptions& options) {
    protect_secrets();
    struct stat existing {};
    if (::lstat(options.dir.c_str(), &existing) == 0) {
        return cli::report_error({ErrorCode::invalid_argument, options.dir + " already exists; keys are never "
                                                                             "overwritten"},
                                 options.json);
    }
    auto passphrase = passphrase_of(options, "Passphrase for the Secure Boot keys: ", true);
    if (!passphrase) return cli::report_error(passphrase.error(), options.json);
    const fs::path parent = fs::absolute(options.dir).parent_path();
    std::string work = (parent / ("." + fs::path(options.dir).filename().string() + ".partial-XXXXXX")).string();
    if (::mkdtemp(work.data()) == nullptr) {
        crypto::wipe(*passphrase);
        return cli::report_error(Error::from_errno(errno, "creating a directory in " + parent.string()), options.json);
    }
    auto made = make_owner_keys(options, *passphrase, work);
    crypto::wipe(*passphrase);
    std::error_code ignored;
    if (made) made = sync_directory(work);
    if (made && ::rename(work.c_str(), options.dir.c_str()) != 0)
        made = fail(Error::from_errno(errno, "creating " + options.dir));
    if (!made) {
        fs::remove_all(work, ignored);
        return cli::report_error(made.error(), options.json);
    }
    const bool printed =
        options.json
            ? cli::print_json(
                  {{"schema", "bulkhead.secureboot-keys/1"}, {"dir", options.dir}, {"keys", {"PK", "KEK", "db"}}})
            : cli::print_text(concat({"created the owner's Secure Boot keys in ", options.dir,
                                      ": PK, KEK and db (RSA-4096; .key encrypted, .crt, .esl, .auth), owner.guid\n"}));
    return printed ? cli::kExitOk : cli::kExitRefused;
}

int build(const ImageOptions& options) {
    protect_secrets();
    auto text = read_file_bounded(options.spec, kMaxSpecBytes);
    if (!text) return cli::report_error(text.error(), options.json);
    const std::string base_dir = fs::absolute(options.spec).parent_path().string();
    auto spec = image::parse_image_spec(*text, options.spec, base_dir);
    if (!spec) return cli::report_error(spec.error(), options.json);
    if (auto set = image::set_release(*spec, options.version, options.security_version); !set) {
        return cli::report_error(set.error(), options.json);
    }
    auto key = read_file_bounded(options.keys + "/db.key", kMaxKeyBytes);
    if (!key) return cli::report_error(key.error(), options.json);
    auto certificate = read_file_bounded(options.keys + "/db.crt", kMaxKeyBytes);
    if (!certificate) return cli::report_error(certificate.error(), options.json);
    auto passphrase = passphrase_of(options, "Passphrase of the db key: ", false);
    if (!passphrase) return cli::report_error(passphrase.error(), options.json);
    auto secret = secureboot::decrypt_owner_key(*key, *passphrase);
    crypto::wipe(*passphrase);
    if (!secret) return cli::report_error(secret.error(), options.json);
    std::string update_root;
    if (!options.update_root.empty()) {
        // Only a root that verifies itself (its own keys and threshold) goes in: the core would
        // refuse every bundle otherwise.
        auto root = read_file_bounded(options.update_root, kMaxRootBytes);
        if (!root) return cli::report_error(root.error(), options.json);
        if (auto trusted = tuf::TrustedMetadataSet::create(*root, tuf::now()); !trusted) {
            return cli::report_error(
                {trusted.error().code, concat({options.update_root, ": ", trusted.error().message})}, options.json);
        }
        update_root = std::move(*root);
    }
    image::SigningIdentity db{std::move(*secret), std::move(*certificate)};
    auto built = image::build_image(*spec, options.out, db, {}, update_root);
    crypto::wipe(db.private_key_pem);
    if (!built) return cli::report_error(built.error(), options.json);
    const bool printed =
        options.json
            ? cli::print_json({{"schema", "bulkhead.image/1"},
                               {"version", built->version},
                               {"out", options.out},
                               {"root_hash", built->root_hash},
                               {"command_line", built->command_line}})
            : cli::print_text(concat({"built image ", built->version, " in ", options.out, "\nroot hash ",
                                      built->root_hash, "\nkernel command line: ", built->command_line, "\n"}));
    return printed ? cli::kExitOk : cli::kExitRefused;
}

}  // namespace

CommandRunner register_image(CLI::App& app, CLI::App& keys) {
    auto options = std::make_shared<ImageOptions>();
    CLI::App* init = keys.add_subcommand(
        "secureboot-init", "Create the owner's Secure Boot keys (PK, KEK, db; no Microsoft keys) in a new directory");
    init->add_option("dir", options->dir, "Directory to create (never overwritten)")->required();
    init->add_option("--passphrase-file", options->passphrase_file,
                     "Read the passphrase from the first line of FILE instead of the terminal")
        ->type_name("FILE");
    init->add_option("--owner-guid", options->owner_guid, "Signature owner GUID (default: a random one)");
    init->add_flag("--json", options->json, "Print the result as JSON (schema bulkhead.secureboot-keys/1)");

    CLI::App* image = app.add_subcommand("image", "Build the immutable, verified system core image");
    image->require_subcommand(1, 1);
    CLI::App* build_command = image->add_subcommand("build", "Build and sign an image from a spec");
    build_command->add_option("--spec", options->spec, "Image spec (TOML)")->required()->check(CLI::ExistingFile);
    build_command->add_option("--out", options->out, "Output directory to create")->required();
    build_command->add_option("--keys", options->keys, "Directory made by `bulkhead keys secureboot-init`")
        ->required()
        ->check(CLI::ExistingDirectory);
    build_command
        ->add_option("--passphrase-file", options->passphrase_file,
                     "Read the db key's passphrase from the first line of FILE instead of the terminal")
        ->type_name("FILE");
    build_command->add_option("--version", options->version, "The image's version instead of the spec's");
    build_command->add_option("--security-version", options->security_version,
                              "The image's security version instead of the spec's (0 to 65535)");
    build_command
        ->add_option("--update-root", options->update_root,
                     std::string("The TUF root.json (bulkhead repo) the core verifies its updates against, put at ") +
                         image::kUpdateRootPath)
        ->check(CLI::ExistingFile);
    build_command->add_flag("--json", options->json, "Print the result as JSON (schema bulkhead.image/1)");

    return [init, build_command, options]() -> int {
        if (init->parsed()) return secureboot_init(*options);
        if (build_command->parsed()) return build(*options);
        return -1;
    };
}

}  // namespace bulkhead::cmd
