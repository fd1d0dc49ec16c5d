#include "boot/boot_entries.hpp"

#include <algorithm>

#include "base/text.hpp"

namespace bulkhead::boot {

namespace {

constexpr std::string_view kPrefix = "bulkhead-";
constexpr std::string_view kSuffix = ".efi";
constexpr std::int64_t kMaxRelease = std::int64_t{1} << 40;
constexpr std::uint32_t kMaxTries = 99;
constexpr std::size_t kMaxVariableBytes = 4 + 2 * 512;

// A canonical decimal number (no sign, no leading zeros) up to `max`.
std::optional<std::int64_t> decimal(std::string_view digits, std::int64_t max) {
    if (digits.empty() || digits.size() > 13 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
    std::int64_t value = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value > max) return std::nullopt;
    return value;
}

}  // namespace

std::string BootEntry::file_name() const {
    std::string name = concat({kPrefix, std::to_string(release)});
    if (tries_left) {
        name += concat({"+", std::to_string(*tries_left)});
        if (tries_done > 0) name += concat({"-", std::to_string(tries_done)});
    }
    return name + std::string(kSuffix);
}

Result<BootEntry> parse_entry_name(std::string_view name) {
    if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) {
        return fail(ErrorCode::not_found, concat({"'", valid_utf8(name.substr(0, 80)), "' is not a Bulkhead entry"}));
    }
    const std::string_view body = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
    const std::size_t plus = body.find('+');
    BootEntry entry;
    auto release = decimal(body.substr(0, plus), kMaxRelease);
    if (!release || *release < 1) {
        return fail(ErrorCode::parse,
                    concat({"boot entry '", valid_utf8(name.substr(0, 80)), "' has no valid release"}));
    }
    entry.release = *release;
    if (plus == std::string_view::npos) return entry;
    const std::string_view counter = body.substr(plus + 1);
    const std::size_t minus = counter.find('-');
    auto left = decimal(counter.substr(0, minus), kMaxTries);
    if (!left) return fail(ErrorCode::parse, concat({"boot entry '", valid_utf8(name), "' has a bad try counter"}));
    entry.tries_left = static_cast<std::uint32_t>(*left);
    if (minus != std::string_view::npos) {
        auto done = decimal(counter.substr(minus + 1), kMaxTries);
        if (!done || *done == 0) {
            return fail(ErrorCode::parse, concat({"boot entry '", valid_utf8(name), "' has a bad try counter"}));
        }
        entry.tries_done = static_cast<std::uint32_t>(*done);
    }
    return entry;
}

std::vector<BootEntry> boot_order(std::vector<BootEntry> entries) {
    std::stable_sort(entries.begin(), entries.end(), [](const BootEntry& a, const BootEntry& b) {
        const bool a_spent = a.tries_left && *a.tries_left == 0;
        const bool b_spent = b.tries_left && *b.tries_left == 0;
        if (a_spent != b_spent) return b_spent;
        if (a.release != b.release) return a.release > b.release;
        const std::uint32_t a_left = a.tries_left.value_or(0);
        const std::uint32_t b_left = b.tries_left.value_or(0);
        if (a_left != b_left) return a_left > b_left;
        return a.tries_done < b.tries_done;
    });
    return entries;
}

std::string loader_conf() {
    return "# Written by bulkhead install; see docs/UPDATES.md.\n"
           "timeout 0\n"
           "default bulkhead-*\n"
           "editor no\n"
           "auto-entries no\n"
           "auto-firmware no\n"
           "console-mode keep\n"
           "secure-boot-enroll force\n";
}

Result<std::string> parse_loader_string_variable(std::string_view efivarfs_bytes) {
    if (efivarfs_bytes.size() < 6 || efivarfs_bytes.size() > kMaxVariableBytes || efivarfs_bytes.size() % 2 != 0) {
        return fail(ErrorCode::parse, "a boot loader variable has an impossible size");
    }
    const std::string_view text = efivarfs_bytes.substr(4);
    std::string value;
    for (std::size_t at = 0; at + 1 < text.size(); at += 2) {
        const auto low = static_cast<unsigned char>(text[at]);
        const auto high = static_cast<unsigned char>(text[at + 1]);
        if (low == 0 && high == 0) {
            if (at + 2 != text.size()) return fail(ErrorCode::parse, "a boot loader variable has data after its end");
            return value;
        }
        if (high != 0 || low < 0x20 || low > 0x7e) {
            return fail(ErrorCode::parse, "a boot loader variable holds a character outside printable ASCII");
        }
        value.push_back(static_cast<char>(low));
    }
    return fail(ErrorCode::parse, "a boot loader variable does not end in a NUL");
}

}  // namespace bulkhead::boot
