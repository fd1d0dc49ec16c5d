#include "attest/link.hpp"

#include <algorithm>
#include <set>

#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "json/canonical.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::attest {
namespace {

constexpr std::size_t kEd25519PublicHexDigits = 64;
constexpr std::size_t kEd25519SignatureBytes = 64;
constexpr std::size_t kMaxArtifacts = 4096;
constexpr std::size_t kMaxSignatures = 64;

json::Value text(std::string_view value) { return json::Value(std::string(value)); }

Result<std::string> lower_hex(const json::Value* value, std::size_t raw_bytes, std::string_view what) {
    if (value == nullptr || !value->is_string() || value->as_string().size() != raw_bytes * 2 ||
        value->as_string().find_first_not_of("0123456789abcdef") != std::string::npos) {
        return fail(ErrorCode::parse,
                    concat({what, " is not ", std::to_string(raw_bytes * 2), " lower-case hex digits"}));
    }
    return hex_decode(value->as_string());
}

// Exactly the given keys, no others.
Result<void> require_keys(const json::Value& value, std::initializer_list<std::string_view> required,
                          std::initializer_list<std::string_view> optional, std::string_view what) {
    if (!value.is_object()) return fail(ErrorCode::parse, concat({what, " is not an object"}));
    for (const auto key : required) {
        if (value.find(key) == nullptr) return fail(ErrorCode::parse, concat({what, " has no '", key, "'"}));
    }
    for (const auto& [key, member] : value.as_object()) {
        const bool known = std::find(required.begin(), required.end(), key) != required.end() ||
                           std::find(optional.begin(), optional.end(), key) != optional.end();
        if (!known) return fail(ErrorCode::parse, concat({what, " has an unknown field '", valid_utf8(key), "'"}));
    }
    return {};
}

Result<std::map<std::string, ArtifactHashes>> parse_artifacts(const json::Value& value, std::string_view what) {
    if (!value.is_object()) return fail(ErrorCode::parse, concat({"link ", what, " is not an object"}));
    if (value.as_object().size() > kMaxArtifacts) {
        return fail(ErrorCode::too_large, concat({"link ", what, " lists more than 4096 artifacts"}));
    }
    std::map<std::string, ArtifactHashes> artifacts;
    for (const auto& [path, hashes] : value.as_object()) {
        const auto where = concat({"link ", what, " '", valid_utf8(path), "'"});
        if (path.empty() || path.starts_with("./") || path.starts_with('/')) {
            return fail(ErrorCode::parse, where + " is not a plain relative path");
        }
        if (auto keys = require_keys(hashes, {"sha256"}, {"sha512"}, where); !keys) return fail(keys.error());
        ArtifactHashes parsed;
        auto sha256 = lower_hex(hashes.find("sha256"), 32, where + " sha256");
        if (!sha256) return fail(sha256.error());
        parsed.sha256 = std::move(sha256).value();
        if (const auto* sha512_value = hashes.find("sha512")) {
            auto sha512 = lower_hex(sha512_value, 64, where + " sha512");
            if (!sha512) return fail(sha512.error());
            parsed.sha512 = std::move(sha512).value();
        }
        artifacts.emplace(path, std::move(parsed));
    }
    return artifacts;
}

json::Value artifacts_value(const std::map<std::string, ArtifactHashes>& artifacts, LinkForm form) {
    json::Object members;
    members.reserve(artifacts.size());
    for (const auto& [path, hashes] : artifacts) {
        json::Object digests = {{"sha256", text(hex_encode(hashes.sha256))}};
        if (form == LinkForm::rebuilderd && !hashes.sha512.empty()) {
            digests.emplace_back("sha512", text(hex_encode(hashes.sha512)));
        }
        members.emplace_back(path, json::sorted_object(std::move(digests)));
    }
    return json::sorted_object(std::move(members));
}

}  // namespace

json::Value key_object(std::string_view public_hex) {
    return json::sorted_object({{"keyid_hash_algorithms", json::Value(json::Array{text("sha256"), text("sha512")})},
                                {"keytype", text("ed25519")},
                                {"keyval", json::sorted_object({{"public", text(public_hex)}})},
                                {"scheme", text("ed25519")}});
}

std::string keyid_of(std::string_view public_hex) {
    // Canonical JSON of strings and arrays always succeeds.
    const auto canonical = json::canonical(key_object(public_hex)).value();
    return hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, canonical));
}

Result<RebuilderKey> rebuilder_key_from_public_hex(std::string_view public_hex) {
    if (public_hex.size() != kEd25519PublicHexDigits ||
        public_hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
        return fail(ErrorCode::parse, "rebuilder key: keyval.public is not 64 lower-case hex digits");
    }
    auto key = crypto::PublicKey::from_tuf(crypto::SignatureScheme::ed25519, public_hex);
    if (!key) return fail(ErrorCode::parse, "rebuilder key: " + key.error().message);
    return RebuilderKey{keyid_of(public_hex), std::string(public_hex), std::move(key).value()};
}

Result<RebuilderKey> parse_rebuilder_key(std::string_view text_value) {
    json::ParseLimits limits;
    limits.max_bytes = 64U << 10U;
    limits.max_depth = 8;
    auto parsed = json::parse(text_value, limits);
    if (!parsed) return fail(ErrorCode::parse, "rebuilder key: " + parsed.error().message);
    const auto& value = *parsed;
    if (auto keys =
            require_keys(value, {"keytype", "scheme", "keyval"}, {"keyid", "keyid_hash_algorithms"}, "rebuilder key");
        !keys) {
        return fail(keys.error());
    }
    const auto is_text = [](const json::Value* member, std::string_view expected) {
        return member != nullptr && member->is_string() && member->as_string() == expected;
    };
    if (!is_text(value.find("keytype"), "ed25519") || !is_text(value.find("scheme"), "ed25519")) {
        return fail(ErrorCode::unsupported, "rebuilder key: only keytype and scheme ed25519 are accepted");
    }
    if (const auto* algorithms = value.find("keyid_hash_algorithms");
        algorithms != nullptr && *algorithms != json::Value(json::Array{text("sha256"), text("sha512")})) {
        return fail(ErrorCode::parse, R"(rebuilder key: keyid_hash_algorithms is not ["sha256", "sha512"])");
    }
    const auto* keyval = value.find("keyval");
    if (auto keys = require_keys(*keyval, {"public"}, {}, "rebuilder key keyval"); !keys) return fail(keys.error());
    const auto* public_value = keyval->find("public");
    if (!public_value->is_string()) return fail(ErrorCode::parse, "rebuilder key: keyval.public is not a string");
    auto key = rebuilder_key_from_public_hex(public_value->as_string());
    if (!key) return fail(key.error());
    if (const auto* keyid = value.find("keyid"); keyid != nullptr && !is_text(keyid, key->keyid)) {
        return fail(ErrorCode::integrity, "rebuilder key: its keyid is not the one its public key gives");
    }
    return key;
}

Result<Link> parse_link(std::string_view link_text) {
    if (link_text.size() > kMaxLinkBytes) return fail(ErrorCode::too_large, "link is larger than 1 MiB");
    json::ParseLimits limits;
    limits.max_bytes = kMaxLinkBytes;
    limits.max_depth = 16;
    auto parsed = json::parse(link_text, limits);
    if (!parsed) return fail(ErrorCode::parse, "link: " + parsed.error().message);
    const auto& document = *parsed;
    if (auto keys = require_keys(document, {"signatures", "signed"}, {}, "link"); !keys) return fail(keys.error());
    const auto& signed_value = *document.find("signed");
    if (auto keys = require_keys(signed_value,
                                 {"_type", "name", "materials", "products", "byproducts", "command", "environment"}, {},
                                 "link signed");
        !keys) {
        return fail(keys.error());
    }
    const auto* type = signed_value.find("_type");
    if (!type->is_string() || type->as_string() != "link") return fail(ErrorCode::parse, "link _type is not \"link\"");

    Link link;
    const auto* name = signed_value.find("name");
    if (!name->is_string()) return fail(ErrorCode::parse, "link name is not a string");
    link.name = name->as_string();
    auto materials = parse_artifacts(*signed_value.find("materials"), "materials");
    if (!materials) return fail(materials.error());
    link.materials = std::move(materials).value();
    auto products = parse_artifacts(*signed_value.find("products"), "products");
    if (!products) return fail(products.error());
    link.products = std::move(products).value();
    if (!signed_value.find("byproducts")->is_object())
        return fail(ErrorCode::parse, "link byproducts is not an object");
    const auto* command = signed_value.find("command");
    if (!command->is_array()) return fail(ErrorCode::parse, "link command is not an array");
    for (const auto& word : command->as_array()) {
        if (!word.is_string()) return fail(ErrorCode::parse, "link command has a word that is not a string");
        link.command.push_back(word.as_string());
    }
    const auto* environment = signed_value.find("environment");
    if (!environment->is_object() && !environment->is_null()) {
        return fail(ErrorCode::parse, "link environment is neither an object nor null");
    }
    link.environment_null = environment->is_null();

    const auto& signatures = *document.find("signatures");
    if (!signatures.is_array() || signatures.as_array().empty()) {
        return fail(ErrorCode::parse, "link signatures is not a non-empty array");
    }
    if (signatures.as_array().size() > kMaxSignatures) return fail(ErrorCode::too_large, "link has over 64 signatures");
    for (const auto& entry : signatures.as_array()) {
        if (auto keys = require_keys(entry, {"keyid", "sig"}, {}, "link signature"); !keys) return fail(keys.error());
        auto keyid = lower_hex(entry.find("keyid"), 32, "link signature keyid");
        if (!keyid) return fail(keyid.error());
        auto signature = lower_hex(entry.find("sig"), kEd25519SignatureBytes, "link signature sig");
        if (!signature) return fail(signature.error());
        link.signatures.push_back({entry.find("keyid")->as_string(), std::move(signature).value()});
    }
    auto canonical = json::canonical(signed_value);
    if (!canonical) return fail(ErrorCode::parse, "link signed cannot be canonicalised: " + canonical.error().message);
    link.signed_bytes = std::move(canonical).value();
    return link;
}

std::vector<std::string> valid_signers(const Link& link, const std::vector<RebuilderKey>& trusted) {
    std::set<std::string> signers;
    for (const auto& signature : link.signatures) {
        for (const auto& key : trusted) {
            if (key.keyid == signature.keyid && key.key.verify(link.signed_bytes, signature.signature)) {
                signers.insert(key.keyid);
            }
        }
    }
    return {signers.begin(), signers.end()};
}

Result<std::string> make_link(const LinkRequest& request, const crypto::PrivateKey& key) {
    if (key.scheme() != crypto::SignatureScheme::ed25519) {
        return fail(ErrorCode::invalid_argument, "rebuilder links are signed with Ed25519 keys only");
    }
    json::Array command;
    command.reserve(request.command.size());
    for (const auto& word : request.command) command.push_back(text(word));
    auto signed_value = json::sorted_object({
        {"_type", text("link")},
        {"name", text(request.name)},
        {"materials", artifacts_value(request.materials, request.form)},
        {"products", artifacts_value(request.products, request.form)},
        {"byproducts", json::sorted_object({})},
        {"command", json::Value(std::move(command))},
        {"environment", request.form == LinkForm::rebuilderd ? json::Value() : json::sorted_object({})},
    });
    auto canonical = json::canonical(signed_value);
    if (!canonical) return fail(canonical.error());
    auto signature = key.sign(*canonical);
    if (!signature) return fail(signature.error());
    const auto keyid = keyid_of(key.public_value());
    auto document =
        json::sorted_object({{"signatures", json::Value(json::Array{json::sorted_object(
                                                {{"keyid", text(keyid)}, {"sig", text(hex_encode(*signature))}})})},
                             {"signed", std::move(signed_value)}});
    return json::to_json(document);
}

std::string attestation_target(std::string_view file, std::string_view keyid) {
    return concat({"attestations/", file, "/", keyid, ".link"});
}

bool is_keyid(std::string_view text) noexcept {
    return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool is_rebuild_link(const Link& link, std::string_view file) noexcept {
    return link.name == "rebuild" || link.name == concat({"rebuild ", file});
}

std::string link_file_name(std::string_view step, std::string_view keyid) {
    return concat({step, ".", keyid.substr(0, 8), ".link"});
}

}  // namespace bulkhead::attest
