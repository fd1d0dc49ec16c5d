// TUF timestamps: exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC), as seconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::tuf {

using UnixSeconds = std::int64_t;

// Rejects every other spelling (fractions, offsets, lower case, missing zero padding) and
// impossible dates such as February 30 or second 60.
Result<UnixSeconds> parse_expires(std::string_view text);
std::string format_expires(UnixSeconds seconds);

// The current time, read through libc (time(2)) so that tools such as faketime apply.
UnixSeconds now();

}  // namespace bulkhead::tuf
