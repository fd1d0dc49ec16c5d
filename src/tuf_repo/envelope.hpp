// Metadata being signed: the signed part and the signatures collected so far, possibly on
// several offline machines (root key ceremonies).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "json/value.hpp"
#include "tuf/metadata.hpp"
#include "tuf_repo/key_file.hpp"

namespace bulkhead::tuf_repo {

struct Envelope {
    json::Value signed_part;                 // an object; its canonical form is what is signed
    std::vector<tuf::Signature> signatures;  // one per keyid, raw signature bytes
};

// Parses {"signatures": [...], "signed": {...}} strictly (duplicate keyids and bad hex refused).
Result<Envelope> read_envelope(std::string_view bytes);

// Plain JSON, signatures in keyid order: byte-for-byte stable for the same content.
std::string write_envelope(const Envelope& envelope);

// Adds (or replaces) the signature of `key` over the canonical signed part.
Result<void> sign(Envelope& envelope, const SigningKey& key);

// Adds the signatures of `from` that `into` lacks. Both must have the same signed part; every
// signature taken over is first verified with its key from `keys`, and one that does not verify
// or whose key is unknown is refused with its keyid named. Returns how many were added.
Result<std::size_t> merge_signatures(Envelope& into, const Envelope& from, const tuf::KeyMap& keys);

}  // namespace bulkhead::tuf_repo
