#include "base/text.hpp"

#include <array>
#include <charconv>

namespace bulkhead {

std::string hex(std::uint64_t value, int min_digits) {
    std::array<char, 16> digits{};
    auto* const end = std::to_chars(digits.data(), digits.data() + digits.size(), value, 16).ptr;
    const auto count = static_cast<int>(end - digits.data());
    std::string out = "0x";
    if (count < min_digits) out.append(static_cast<std::size_t>(min_digits - count), '0');
    out.append(digits.data(), end);
    return out;
}

}  // namespace bulkhead
