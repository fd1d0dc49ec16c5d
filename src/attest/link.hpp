// Rebuilder attestations: in-toto v0.9 link metadata, as Arch's rebuilderd workers sign them
// (Ed25519 over the canonical JSON of `signed`; products carry sha256 and sha512; environment
// may be null), read strictly and checked with our own code. Keys are securesystemslib's JSON
// form; a keyid is the sha256 of the canonical JSON of {keyid_hash_algorithms: [sha256,
// sha512], keytype, keyval: {public}, scheme}, as in-toto computes it.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "crypto/signature.hpp"
#include "json/value.hpp"

namespace bulkhead::attest {

inline constexpr std::size_t kMaxLinkBytes = 1U << 20U;

// An Ed25519 rebuilder key (only Ed25519: what rebuilderd uses, and no legacy schemes).
struct RebuilderKey {
    std::string keyid;       // 64 lower-case hex digits
    std::string public_hex;  // 64 lower-case hex digits
    crypto::PublicKey key;
};

// The key object in securesystemslib's form, without a keyid (what `in-toto-verify -k` reads).
json::Value key_object(std::string_view public_hex);
std::string keyid_of(std::string_view public_hex);

// Reads a public key file: {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public":
// HEX}} with optional "keyid_hash_algorithms" (must be ["sha256", "sha512"]) and "keyid" (must
// be the computed one); nothing else.
Result<RebuilderKey> parse_rebuilder_key(std::string_view text);
Result<RebuilderKey> rebuilder_key_from_public_hex(std::string_view public_hex);

// Digests of one artifact: sha256 required, sha512 optional; raw bytes.
struct ArtifactHashes {
    std::string sha256;
    std::string sha512;  // empty when the link has none

    friend bool operator==(const ArtifactHashes&, const ArtifactHashes&) = default;
};

struct LinkSignature {
    std::string keyid;
    std::string signature;  // 64 raw bytes
};

struct Link {
    std::string name;
    std::map<std::string, ArtifactHashes> materials;
    std::map<std::string, ArtifactHashes> products;
    std::vector<std::string> command;
    bool environment_null = false;
    std::vector<LinkSignature> signatures;
    std::string signed_bytes;  // canonical JSON of `signed`, what the signatures cover
};

// Parses a signed link strictly: exactly the seven fields of `signed` (_type "link", name,
// materials, products, byproducts, command, environment as an object or null), artifact
// paths without "./", lower-case hex digests of sha256 (required) and sha512, signatures with
// a keyid and a 128-digit hex Ed25519 signature.
Result<Link> parse_link(std::string_view text);

// The keyids of `trusted` that have a valid signature on the link.
std::vector<std::string> valid_signers(const Link& link, const std::vector<RebuilderKey>& trusted);

// How a produced link is written.
enum class LinkForm {
    rebuilderd,  // environment null, products with sha256 and sha512 (as Arch's rebuilders)
    in_toto_1,   // environment {}, sha256 only: what Debian's in-toto-verify 1.3.1 accepts
};

struct LinkRequest {
    std::string name = "rebuild";
    std::map<std::string, ArtifactHashes> materials;
    std::map<std::string, ArtifactHashes> products;
    std::vector<std::string> command;
    LinkForm form = LinkForm::rebuilderd;
};

// A signed link, as JSON text; the key must be Ed25519.
Result<std::string> make_link(const LinkRequest& request, const crypto::PrivateKey& key);

// "rebuild.1a0c935e.link": the name in-toto-verify looks for (step name, first 8 keyid digits).
std::string link_file_name(std::string_view step, std::string_view keyid);

// Where a rebuilder's link about a package file is published as a TUF target:
// "attestations/FILE/KEYID.link" with the full keyid, so two keys can never share a name.
std::string attestation_target(std::string_view file, std::string_view keyid);

// A keyid as in-toto writes it: 64 lower-case hex digits.
bool is_keyid(std::string_view text) noexcept;

// Whether a link is about a rebuild: named "rebuild", or "rebuild FILE" as rebuilderd names it.
bool is_rebuild_link(const Link& link, std::string_view file) noexcept;

}  // namespace bulkhead::attest
