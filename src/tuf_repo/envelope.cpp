#include "tuf_repo/envelope.hpp"

#include <algorithm>

#include "base/text.hpp"
#include "json/canonical.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::tuf_repo {

namespace {

constexpr std::size_t kMaxEnvelopeBytes = std::size_t{64} << 20;

Failure bad(const std::string& what) { return fail(ErrorCode::parse, "metadata: " + what); }

void sort_by_keyid(std::vector<tuf::Signature>& signatures) {
    std::sort(signatures.begin(), signatures.end(),
              [](const tuf::Signature& left, const tuf::Signature& right) { return left.keyid < right.keyid; });
}

}  // namespace

Result<Envelope> read_envelope(std::string_view bytes) {
    json::ParseLimits limits;
    limits.max_bytes = kMaxEnvelopeBytes;
    auto document = json::parse(bytes, limits);
    if (!document) return bad(document.error().message);
    const json::Value* signed_part = document->find("signed");
    const json::Value* signatures = document->find("signatures");
    if (signed_part == nullptr || !signed_part->is_object()) return bad("no 'signed' object");
    if (signatures == nullptr || !signatures->is_array()) return bad("no 'signatures' list");
    Envelope envelope{*signed_part, {}};
    for (const json::Value& entry : signatures->as_array()) {
        const json::Value* keyid = entry.find("keyid");
        const json::Value* sig = entry.find("sig");
        if (keyid == nullptr || !keyid->is_string() || sig == nullptr || !sig->is_string()) {
            return bad("a signature needs 'keyid' and 'sig' strings");
        }
        auto decoded = hex_decode(sig->as_string());
        if (!decoded) return bad("signature by " + keyid->as_string() + " is not hex");
        const bool repeated =
            std::any_of(envelope.signatures.begin(), envelope.signatures.end(),
                        [&keyid](const tuf::Signature& existing) { return existing.keyid == keyid->as_string(); });
        if (repeated) return bad("keyid " + keyid->as_string() + " signs more than once");
        envelope.signatures.push_back(tuf::Signature{keyid->as_string(), std::move(*decoded)});
    }
    sort_by_keyid(envelope.signatures);
    return envelope;
}

std::string write_envelope(const Envelope& envelope) {
    json::Array signatures;
    std::vector<tuf::Signature> ordered = envelope.signatures;
    sort_by_keyid(ordered);
    for (const tuf::Signature& signature : ordered) {
        json::Object entry{{"keyid", json::Value(signature.keyid)}, {"sig", json::Value(hex_encode(signature.bytes))}};
        (void)json::sort_members(entry);
        signatures.emplace_back(std::move(entry));
    }
    json::Object document{{"signatures", json::Value(std::move(signatures))}, {"signed", envelope.signed_part}};
    (void)json::sort_members(document);
    return json::to_json(json::Value(std::move(document))) + "\n";
}

Result<void> sign(Envelope& envelope, const SigningKey& key) {
    auto message = json::canonical(envelope.signed_part);
    if (!message) return fail(message.error());
    auto signature = key.key.sign(*message);
    if (!signature) return fail(signature.error());
    std::erase_if(envelope.signatures,
                  [&key](const tuf::Signature& existing) { return existing.keyid == key.identity.keyid; });
    envelope.signatures.push_back(tuf::Signature{key.identity.keyid, std::move(*signature)});
    sort_by_keyid(envelope.signatures);
    return {};
}

Result<std::size_t> merge_signatures(Envelope& into, const Envelope& from, const tuf::KeyMap& keys) {
    auto message = json::canonical(into.signed_part);
    auto other = json::canonical(from.signed_part);
    if (!message || !other) return fail(ErrorCode::parse, "metadata cannot be canonicalised");
    if (*message != *other) {
        return fail(ErrorCode::invalid_argument, "the signatures are over different metadata; nothing merged");
    }
    std::vector<tuf::Signature> accepted;
    for (const tuf::Signature& signature : from.signatures) {
        const bool present =
            std::any_of(into.signatures.begin(), into.signatures.end(),
                        [&signature](const tuf::Signature& existing) { return existing.keyid == signature.keyid; });
        if (present) continue;
        const auto key = keys.find(signature.keyid);
        if (key == keys.end() || !key->second.verifier) {
            return fail(ErrorCode::not_signed, "signature by unknown key " + signature.keyid + "; nothing merged");
        }
        if (!key->second.verifier->verify(*message, signature.bytes)) {
            return fail(ErrorCode::not_signed, "signature by " + signature.keyid + " does not verify; nothing merged");
        }
        accepted.push_back(signature);
    }
    into.signatures.insert(into.signatures.end(), accepted.begin(), accepted.end());
    sort_by_keyid(into.signatures);
    return accepted.size();
}

}  // namespace bulkhead::tuf_repo
