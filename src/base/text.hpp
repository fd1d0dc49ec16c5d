// Small formatting helpers shared by messages across components.
#pragma once

#include <cstdint>
#include <string>

namespace bulkhead {

// "0x" followed by lower-case hex digits, at least min_digits of them.
std::string hex(std::uint64_t value, int min_digits = 1);

}  // namespace bulkhead
