// Dropping the capabilities a root process does not need, for itself and for everything it
// starts from then on (the bounding set limits what any later exec can regain).
#pragma once

#include <cstdint>
#include <initializer_list>

#include "base/result.hpp"

namespace bulkhead {

// Leaves only `keep` (CAP_* numbers) in the bounding, permitted and effective sets, and nothing
// in the inheritable and ambient sets. Needs CAP_SETPCAP, which goes too unless kept.
Result<void> keep_only_capabilities(std::initializer_list<int> keep);

// This process's effective set as a bit mask (bit N is CAP_* number N).
Result<std::uint64_t> effective_capabilities();

}  // namespace bulkhead
