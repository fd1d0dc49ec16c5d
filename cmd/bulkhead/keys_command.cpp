#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>

#include "base/file_io.hpp"
#include "cli/output.hpp"
#include "cli/passphrase.hpp"
#include "commands.hpp"
#include "crypto/secret_box.hpp"
#include "json/write.hpp"
#include "tuf_repo/key_file.hpp"

namespace bulkhead::cmd {

namespace {

constexpr std::size_t kMaxKeyFileBytes = 65536;

struct KeysOptions {
    std::string type;
    std::string out;
    std::string file;
    std::string passphrase_file;
    bool insecure_plaintext = false;
    bool json = false;
};

nlohmann::ordered_json describe(const tuf_repo::KeyIdentity& identity) {
    return {{"schema", "bulkhead.key/1"},
            {"keyid", identity.keyid},
            {"key", nlohmann::ordered_json::parse(json::to_json(identity.public_object))}};
}

int print_identity(const tuf_repo::KeyIdentity& identity, bool json) {
    const nlohmann::ordered_json document = describe(identity);
    const bool printed = json ? cli::print_json(document)
                              : cli::print_text("keyid: " + identity.keyid + "\n" + document["key"].dump(2) + "\n");
    return printed ? cli::kExitOk : cli::kExitRefused;
}

int generate(const KeysOptions& options) {
    auto scheme = tuf_repo::key_type_from_name(options.type);
    if (!scheme) return cli::report_usage_error(scheme.error().message, "bulkhead keys generate");
    struct stat existing {};
    if (::lstat(options.out.c_str(), &existing) == 0) {
        return cli::report_error({ErrorCode::invalid_argument, options.out + " already exists; a key is never "
                                                                             "overwritten (remove it first)"},
                                 options.json);
    }
    std::optional<std::string> passphrase;
    if (!options.insecure_plaintext) {
        auto entered = cli::read_passphrase(
            options.passphrase_file.empty() ? std::nullopt : std::optional<std::string>(options.passphrase_file),
            "Passphrase for the new key: ", true);
        if (!entered) return cli::report_error(entered.error(), options.json);
        passphrase = std::move(*entered);
    }
    auto key = crypto::PrivateKey::generate(*scheme);
    if (!key) return cli::report_error(key.error(), options.json);
    auto file = tuf_repo::write_key_file(*key, passphrase);
    if (passphrase) crypto::wipe(*passphrase);
    if (!file) return cli::report_error(file.error(), options.json);
    if (auto written = write_file_atomically(options.out, *file, 0600); !written) {
        return cli::report_error(written.error(), options.json);
    }
    auto identity = tuf_repo::read_public_key(*file);
    if (!identity) return cli::report_error(identity.error(), options.json);
    return print_identity(*identity, options.json);
}

int show_public(const KeysOptions& options) {
    auto bytes = read_file_bounded(options.file, kMaxKeyFileBytes);
    if (!bytes) return cli::report_error(bytes.error(), options.json);
    auto identity = tuf_repo::read_public_key(*bytes);
    if (!identity) return cli::report_error(identity.error(), options.json);
    return print_identity(*identity, options.json);
}

}  // namespace

CommandRunner register_keys(CLI::App& app) {
    auto options = std::make_shared<KeysOptions>();
    CLI::App* keys = app.add_subcommand("keys", "Create and inspect signing keys for TUF repositories");
    keys->require_subcommand(1, 1);

    CLI::App* generate_command = keys->add_subcommand(
        "generate", "Create a signing key, encrypted at rest with a passphrase (scrypt + AES-256-GCM)");
    generate_command->add_option("--type", options->type, "ed25519, ecdsa-p256, ecdsa-p384 or rsa-pss-3072")
        ->required();
    generate_command->add_option("--out", options->out, "Key file to create (mode 0600; never overwritten)")
        ->type_name("FILE")
        ->required();
    generate_command
        ->add_option("--passphrase-file", options->passphrase_file,
                     "Read the passphrase from the first line of FILE instead of the terminal")
        ->type_name("FILE");
    CLI::Option* plaintext =
        generate_command->add_flag("--insecure-plaintext", options->insecure_plaintext,
                                   "Store the private key unencrypted (throw-away test keys only)");
    plaintext->excludes("--passphrase-file");
    generate_command->add_flag("--json", options->json, "Print the result as JSON (schema bulkhead.key/1)");

    CLI::App* public_command =
        keys->add_subcommand("public", "Print the TUF public key object and keyid of a key file");
    public_command->add_option("file", options->file, "Key file")->required()->check(CLI::ExistingFile);
    public_command->add_flag("--json", options->json, "Print the result as JSON (schema bulkhead.key/1)");

    return [generate_command, public_command, options]() -> int {
        if (generate_command->parsed()) return generate(*options);
        if (public_command->parsed()) return show_public(*options);
        return -1;
    };
}

}  // namespace bulkhead::cmd
