// Turning the client's metadata model back into the signed JSON it was parsed from, so the
// repository edits typed values (tuf::Root, tuf::Targets) and never JSON by hand. Round trip:
// parse_targets(envelope of targets_to_json(t)) gives back t.
#pragma once

#include <string>

#include "base/result.hpp"
#include "json/value.hpp"
#include "tuf/metadata.hpp"

namespace bulkhead::tuf_repo {

// The TUF key object {"keytype", "keyval": {"public"}, "scheme"}. Fails when its keyid is not
// `keyid`: the key had fields this tool does not keep, and rewriting it would change its keyid.
Result<json::Value> key_object(const std::string& keyid, const tuf::Key& key);

Result<json::Value> root_to_json(const tuf::Root& root);
Result<json::Value> targets_to_json(const tuf::Targets& targets);

}  // namespace bulkhead::tuf_repo
