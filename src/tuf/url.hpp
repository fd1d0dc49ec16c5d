// Names of metadata and target files, locally and on the repository.
#pragma once

#include <string>
#include <string_view>

namespace bulkhead::tuf {

// Percent-encodes every byte except A-Z a-z 0-9 and "_.-~", with upper-case hex: what Python's
// urllib.parse.quote(name, safe="") does. Role names become safe single file names ("/" is %2F).
std::string percent_encode(std::string_view text);

}  // namespace bulkhead::tuf
