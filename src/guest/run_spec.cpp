#include "guest/run_spec.hpp"

#include <algorithm>
#include <set>

#include <arpa/inet.h>

namespace bulkhead::guest {

std::string join_nul_list(const std::vector<std::string>& items) {
    std::string bytes;
    for (const std::string& item : items) {
        bytes += item;
        bytes.push_back('\0');
    }
    return bytes;
}

Result<std::vector<std::string>> split_nul_list(std::string_view bytes, std::string_view what) {
    if (bytes.size() > kMaxListBytes) return fail(ErrorCode::too_large, std::string(what) + " is larger than 256 KiB");
    if (!bytes.empty() && bytes.back() != '\0') {
        return fail(ErrorCode::parse, std::string(what) + " does not end with a NUL");
    }
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start < bytes.size()) {
        const std::size_t end = bytes.find('\0', start);
        if (items.size() == kMaxListItems) return fail(ErrorCode::too_large, std::string(what) + " has too many items");
        items.emplace_back(bytes.substr(start, end - start));
        start = end + 1;
    }
    return items;
}

std::string_view restart_name(Restart restart) noexcept {
    switch (restart) {
        case Restart::never: return "never";
        case Restart::on_failure: return "on-failure";
        case Restart::always: return "always";
    }
    return "never";
}

Result<Restart> parse_restart(std::string_view text) {
    for (const Restart restart : {Restart::never, Restart::on_failure, Restart::always}) {
        if (text == restart_name(restart)) return restart;
    }
    return fail(ErrorCode::parse, "restart policy '" + std::string(text) + "' is not never, on-failure or always");
}

namespace {

bool is_ipv4(const std::string& text) {
    in_addr address{};
    return text.size() <= 15 && ::inet_pton(AF_INET, text.c_str(), &address) == 1;
}

}  // namespace

std::string format_guest_network(const GuestNetwork& network) {
    return network.address + "/" + std::to_string(network.prefix) + " " + network.gateway + "\n";
}

Result<GuestNetwork> parse_guest_network(std::string_view text) {
    const auto bad = [&] {
        return fail(ErrorCode::parse, "/bulkhead/network must be \"ADDRESS/PREFIX GATEWAY\" (IPv4) on one line");
    };
    if (text.size() > 64 || !text.ends_with('\n')) return bad();
    text.remove_suffix(1);
    const std::size_t slash = text.find('/');
    const std::size_t space = text.find(' ');
    if (slash == std::string_view::npos || space == std::string_view::npos || slash > space) return bad();
    GuestNetwork network;
    network.address = std::string(text.substr(0, slash));
    const std::string_view prefix = text.substr(slash + 1, space - slash - 1);
    network.gateway = std::string(text.substr(space + 1));
    if (prefix.empty() || prefix.size() > 2 || prefix.find_first_not_of("0123456789") != std::string_view::npos ||
        (prefix.size() == 2 && prefix[0] == '0')) {
        return bad();
    }
    network.prefix = std::stoi(std::string(prefix));
    if (network.prefix < 1 || network.prefix > 30 || !is_ipv4(network.address) || !is_ipv4(network.gateway)) {
        return bad();
    }
    return network;
}

std::string format_guest_shares(const std::vector<GuestShare>& shares) {
    std::string out;
    for (const GuestShare& share : shares) {
        out += share.tag + (share.writable ? " rw " : " ro ") + share.path + "\n";
    }
    return out;
}

Result<std::vector<GuestShare>> parse_guest_shares(std::string_view text) {
    std::vector<GuestShare> shares;
    if (text.size() > kMaxShares * 4200) return fail(ErrorCode::too_large, "/bulkhead/shares is too large");
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = text.find('\n');
        const auto bad = [&] {
            return fail(ErrorCode::parse,
                        "/bulkhead/shares line " + std::to_string(line_number) + " is not \"TAG ro|rw /PATH\"");
        };
        if (end == std::string_view::npos) return bad();
        const std::string_view line = text.substr(0, end);
        text.remove_prefix(end + 1);
        const std::size_t first = line.find(' ');
        if (first == std::string_view::npos || line.size() < first + 5) return bad();
        GuestShare share;
        share.tag = std::string(line.substr(0, first));
        const std::string_view mode = line.substr(first + 1, 2);
        if (line[first + 3] != ' ' || (mode != "ro" && mode != "rw")) return bad();
        share.writable = mode == "rw";
        share.path = std::string(line.substr(first + 4));
        const bool tag_ok =
            !share.tag.empty() && share.tag.size() <= 36 && std::all_of(share.tag.begin(), share.tag.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            });
        const bool path_ok = share.path.size() > 1 && share.path.size() <= 4000 && share.path.front() == '/' &&
                             std::none_of(share.path.begin(), share.path.end(),
                                          [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }) &&
                             share.path.find("/../") == std::string::npos && !share.path.ends_with("/..") &&
                             share.path.find("/./") == std::string::npos && !share.path.ends_with("/.") &&
                             share.path.find("//") == std::string::npos && share.path.back() != '/';
        if (!tag_ok || !path_ok) return bad();
        if (shares.size() == kMaxShares) return fail(ErrorCode::too_large, "at most 16 shares");
        shares.push_back(std::move(share));
    }
    return shares;
}

Result<RunSpec> make_run_spec(std::vector<std::string> argv, std::vector<std::string> env) {
    if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
        return fail(ErrorCode::invalid_argument, "the app's program must be an absolute path");
    }
    std::set<std::string> names;
    for (const std::string& entry : env) {
        const std::size_t equals = entry.find('=');
        if (equals == 0 || equals == std::string::npos) {
            return fail(ErrorCode::invalid_argument, "environment entry '" + entry + "' is not NAME=value");
        }
        if (!names.insert(entry.substr(0, equals)).second) {
            return fail(ErrorCode::invalid_argument,
                        "environment variable " + entry.substr(0, equals) + " is set twice");
        }
    }
    return RunSpec{std::move(argv), std::move(env), Restart::never, std::nullopt, {}};
}

}  // namespace bulkhead::guest
