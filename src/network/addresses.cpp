#include "network/addresses.hpp"

#include <array>
#include <cstdio>

#include "base/text.hpp"

namespace bulkhead::network {

namespace {

constexpr std::uint32_t kBase = (100U << 24) | (64U << 16);

std::string dotted(std::uint32_t address) {
    return concat({std::to_string(address >> 24), ".", std::to_string((address >> 16) & 255), ".",
                   std::to_string((address >> 8) & 255), ".", std::to_string(address & 255)});
}

std::string hex_byte(std::uint32_t value) {
    std::array<char, 3> text{};
    (void)std::snprintf(text.data(), text.size(), "%02x", value & 255);
    return {text.data(), 2};
}

}  // namespace

Result<AppAddresses> app_addresses(std::uint32_t index) {
    if (index > kMaxAppIndex) {
        return fail(ErrorCode::unsupported, "app index " + std::to_string(index) + " has no network addresses");
    }
    const std::uint32_t block = kBase + index * 8;
    AppAddresses out;
    out.guest_subnet = dotted(block) + "/30";
    out.gateway = dotted(block + 1);
    out.guest = dotted(block + 2);
    out.provider = dotted(block + 5);
    out.app_uplink = dotted(block + 6);
    out.provider_interface = kAppSideInterfacePrefix + std::to_string(index);
    // A locally administered unicast address: 02:62:68 ("bh"), then the index.
    out.mac = concat({"02:62:68:00:", hex_byte(index >> 8), ":", hex_byte(index)});
    return out;
}

bool is_ipv4_literal(const std::string& text) {
    int parts = 0;
    std::size_t at = 0;
    while (at <= text.size()) {
        const std::size_t end = std::min(text.find('.', at), text.size());
        const std::string part = text.substr(at, end - at);
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
        int value = 0;
        for (const char c : part) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + (c - '0');
        }
        if (value > 255) return false;
        ++parts;
        at = end + 1;
        if (end == text.size()) break;
    }
    return parts == 4 && text.back() != '.';
}

}  // namespace bulkhead::network
