#include "permissions/permission.hpp"

#include <algorithm>
#include <vector>

#include "base/text.hpp"

namespace bulkhead::permissions {

namespace {

constexpr std::size_t kMaxText = 4096;
constexpr std::size_t kMaxHost = 253;

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = text.find(separator, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

Result<std::uint16_t> port_number(std::string_view text, std::uint32_t lowest, std::string_view what) {
    std::uint32_t value = 0;
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text.front() == '0')) {
        return fail(ErrorCode::invalid_argument, concat({what, " must be a port number"}));
    }
    for (const char c : text) {
        if (c < '0' || c > '9') return fail(ErrorCode::invalid_argument, concat({what, " must be a port number"}));
        value = value * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (value < lowest || value > 65535) {
        return fail(ErrorCode::invalid_argument,
                    concat({what, " must be between ", std::to_string(lowest), " and 65535"}));
    }
    return static_cast<std::uint16_t>(value);
}

bool dns_name(std::string_view host) {
    if (host.empty() || host.size() > kMaxHost) return false;
    for (const std::string_view label : split(host, '.')) {
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (const char c : label) {
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
        }
    }
    return true;
}

bool ipv6_literal(std::string_view host) {
    // [hex:hex::...], lower case: checked for shape here; the provider resolves nothing for it.
    if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
    const std::string_view inner = host.substr(1, host.size() - 2);
    if (inner.size() > 39 || inner.find(':') == std::string_view::npos) return false;
    return std::ranges::all_of(inner,
                               [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':'; });
}

Result<std::uint16_t> usb_id(std::string_view text) {
    if (text.size() != 4) return fail(ErrorCode::invalid_argument, "usb ids are four hex digits");
    std::uint32_t value = 0;
    for (const char c : text) {
        const int digit = hex_digit_value(c);
        if (digit < 0 || (c >= 'A' && c <= 'F')) {
            return fail(ErrorCode::invalid_argument, "usb ids are four lower-case hex digits");
        }
        value = value * 16 + static_cast<std::uint32_t>(digit);
    }
    return static_cast<std::uint16_t>(value);
}

// A path the canonical form can always carry: at most 4000 bytes (with "files:" and ":ro" it
// stays within a permission's 4096), valid UTF-8, no control characters.
bool clean_absolute_path(std::string_view path) {
    if (path.size() < 2 || path.size() > 4000 || path.front() != '/' || path.back() == '/') return false;
    for (const char c : path) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    if (valid_utf8(path) != path) return false;
    for (const std::string_view part : split(path.substr(1), '/')) {
        if (part.empty() || part == "." || part == "..") return false;
    }
    return path.find_first_of(std::string_view("\0:\n", 3)) == std::string_view::npos;
}

}  // namespace

bool enforceable(Kind kind) noexcept {
    return kind == Kind::network || kind == Kind::expose_port || kind == Kind::files;
}

Result<Permission> parse_permission(std::string_view text) {
    if (text.empty() || text.size() > kMaxText) {
        return fail(ErrorCode::invalid_argument, "a permission is 1 to 4096 characters");
    }
    const std::size_t colon = text.find(':');
    const std::string_view name = text.substr(0, colon);
    const std::string_view rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    const auto kind = kind_from_name(name);
    if (!kind) {
        return fail(ErrorCode::invalid_argument,
                    concat({"'", valid_utf8(name.substr(0, 64)), "' is not a permission; known: ", all_kind_names()}));
    }
    Permission permission;
    permission.kind = *kind;
    const bool has_rest = colon != std::string_view::npos;
    switch (*kind) {
        case Kind::network: {
            if (!has_rest) return permission;
            // HOST:PORT, HOST possibly an [IPv6] literal with colons inside.
            const std::size_t last = rest.rfind(':');
            if (last == std::string_view::npos)
                return fail(ErrorCode::invalid_argument, "network: is network:HOST:PORT");
            const std::string_view host = rest.substr(0, last);
            if (!dns_name(host) && !ipv6_literal(host)) {
                return fail(ErrorCode::invalid_argument,
                            "network: the host must be a lower-case DNS name, an IPv4 address or an [IPv6] address");
            }
            auto port = port_number(rest.substr(last + 1), 1, "network: the port");
            if (!port) return fail(port.error());
            permission.host = std::string(host);
            permission.port = *port;
            return permission;
        }
        case Kind::expose_port: {
            const auto parts = split(rest, ':');
            if (!has_rest || parts.size() != 2) {
                return fail(ErrorCode::invalid_argument, "expose-port is expose-port:GUEST_PORT:HOST_PORT");
            }
            auto guest = port_number(parts[0], 1, "expose-port: the guest port");
            if (!guest) return fail(guest.error());
            auto host = port_number(parts[1], 1024, "expose-port: the host port");
            if (!host) return fail(host.error());
            permission.port = *guest;
            permission.host_port = *host;
            return permission;
        }
        case Kind::files: {
            if (!has_rest) return fail(ErrorCode::invalid_argument, "files is files:/PATH[:ro|:rw]");
            std::string_view path = rest;
            if (path.ends_with(":rw")) {
                permission.writable = true;
                path.remove_suffix(3);
            } else if (path.ends_with(":ro")) {
                path.remove_suffix(3);
            }
            if (!clean_absolute_path(path)) {
                return fail(ErrorCode::invalid_argument,
                            "files: the path must be absolute, without '.', '..', '//', ':' or a trailing '/'");
            }
            permission.path = std::string(path);
            return permission;
        }
        case Kind::usb: {
            const auto parts = split(rest, ':');
            if (!has_rest || parts.size() != 2) return fail(ErrorCode::invalid_argument, "usb is usb:VENDOR:PRODUCT");
            auto vendor = usb_id(parts[0]);
            if (!vendor) return fail(vendor.error());
            auto product = usb_id(parts[1]);
            if (!product) return fail(product.error());
            permission.vendor = *vendor;
            permission.product = *product;
            return permission;
        }
        case Kind::clipboard:
        case Kind::display:
        case Kind::audio_out:
        case Kind::microphone:
        case Kind::camera:
            if (has_rest) return fail(ErrorCode::invalid_argument, concat({name, " takes no arguments"}));
            return permission;
    }
    return fail(ErrorCode::internal, "unhandled permission kind");
}

std::string format_permission(const Permission& permission) {
    std::string name(kind_name(permission.kind));
    switch (permission.kind) {
        case Kind::network:
            return permission.host.empty() ? name
                                           : concat({name, ":", permission.host, ":", std::to_string(permission.port)});
        case Kind::expose_port:
            return concat({name, ":", std::to_string(permission.port), ":", std::to_string(permission.host_port)});
        case Kind::files: return concat({name, ":", permission.path, permission.writable ? ":rw" : ":ro"});
        case Kind::usb: {
            const std::string vendor = hex(permission.vendor, 4).substr(2);
            const std::string product = hex(permission.product, 4).substr(2);
            return concat({name, ":", vendor, ":", product});
        }
        default: return name;
    }
}

}  // namespace bulkhead::permissions
