#include "appstore/config.hpp"

#include <array>

#include <toml++/toml.h>

#include "config/toml_reader.hpp"

namespace bulkhead::appstore {

namespace {

using config::TomlReader;

bool is_repository_url(std::string_view url) {
    return (url.starts_with("file:///") || url.starts_with("http://") || url.starts_with("https://")) &&
           url.ends_with("/");
}

bool is_clean_absolute_path(std::string_view path) {
    if (path.empty() || path.front() != '/') return false;
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        const std::string_view part = path.substr(start, end - start);
        if (part == "." || part == ".." || (part.empty() && end != path.size())) return false;
        start = end + 1;
    }
    return true;
}

// socks5h://HOST:PORT with a port of 1 to 65535: the proxy resolves names (onion services).
bool is_socks5h_proxy(std::string_view proxy) {
    constexpr std::string_view kScheme = "socks5h://";
    if (!proxy.starts_with(kScheme)) return false;
    const std::string_view rest = proxy.substr(kScheme.size());
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() || colon + 6 < rest.size()) {
        return false;
    }
    for (const char c : rest.substr(0, colon)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '-' || c == '[' || c == ']' || c == ':';
        if (!ok) return false;
    }
    std::uint32_t port = 0;
    for (const char c : rest.substr(colon + 1)) {
        if (c < '0' || c > '9') return false;
        port = port * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return port >= 1 && port <= 65535;
}

Result<std::string> checked_text(const TomlReader& reader, const toml::node& node, const std::string& key,
                                 bool (*valid)(std::string_view), const char* expectation) {
    auto text = reader.text(node, key);
    if (!text) return fail(text.error());
    if (!valid(*text)) return reader.error(node, key, expectation);
    return text;
}

Result<void> read_rebuilders(const TomlReader& reader, const toml::node& node, StoreConfig& config) {
    const toml::table* table = node.as_table();
    if (table == nullptr) return reader.error(node, "rebuilders", "must be a table");
    if (auto known = reader.only(*table, "rebuilders", {"keys", "threshold"}); !known) return known;
    const toml::node* keys = table->get("keys");
    if (keys == nullptr) return reader.error(node, "rebuilders.keys", "is required");
    const toml::array* list = keys->as_array();
    if (list == nullptr || list->empty()) return reader.error(*keys, "rebuilders.keys", "must be a list of key files");
    if (list->size() > kMaxRebuilderKeys) return reader.error(*keys, "rebuilders.keys", "has more than 64 entries");
    for (const toml::node& key : *list) {
        auto path = checked_text(reader, key, "rebuilders.keys", is_clean_absolute_path, "must be an absolute path");
        if (!path) return fail(path.error());
        config.rebuilder_keys.push_back(std::move(*path));
    }
    if (const toml::node* threshold = table->get("threshold")) {
        auto number = reader.number(*threshold, "rebuilders.threshold", 1, static_cast<std::int64_t>(list->size()));
        if (!number) return fail(number.error());
        config.rebuilder_threshold = *number;
    }
    return {};
}

Result<void> read_apps(const TomlReader& reader, const toml::node& node, StoreConfig& config) {
    const toml::table* table = node.as_table();
    if (table == nullptr) return reader.error(node, "apps", "must be a table");
    if (auto known = reader.only(*table, "apps", {"memory_mib", "vcpus", "state_disk_mib"}); !known) return known;
    // The same bounds as an app definition's [resources].
    struct Number {
        const char* key;
        std::int64_t low;
        std::int64_t high;
        std::uint32_t* field;
    };
    const std::array<Number, 3> numbers = {{{"memory_mib", 64, 16384, &config.memory_mib},
                                            {"vcpus", 1, 16, &config.vcpus},
                                            {"state_disk_mib", 0, 65536, &config.state_disk_mib}}};
    for (const auto& number : numbers) {
        if (const toml::node* value = table->get(number.key)) {
            auto read = reader.number(*value, std::string("apps.") + number.key, number.low, number.high);
            if (!read) return fail(read.error());
            *number.field = *read;
        }
    }
    return {};
}

}  // namespace

Result<StoreConfig> parse_store_config(std::string_view text, std::string_view source) {
    const TomlReader reader(source);
    if (text.size() > kMaxStoreConfigBytes) {
        return fail(ErrorCode::too_large, std::string(source) + ": larger than 64 KiB");
    }
    toml::table table;
    try {
        table = toml::parse(text, source);
    } catch (const toml::parse_error& error) {
        const toml::source_position& at = error.source().begin;
        return fail(ErrorCode::parse, std::string(source) + ":" + std::to_string(at.line) + ":" +
                                          std::to_string(at.column) + ": " + std::string(error.description()));
    }
    if (auto known = reader.only(table, "",
                                 {"metadata_url", "targets_url", "trusted_root", "state_dir", "patch_policy",
                                  "package_mirrors", "proxy", "ca_file", "worker_uid", "rebuilders", "apps"});
        !known) {
        return fail(known.error());
    }
    StoreConfig config;
    struct Text {
        const char* key;
        bool (*valid)(std::string_view);
        const char* expectation;
        std::string* field;
        bool required;
    };
    const std::array<Text, 6> texts = {{
        {"metadata_url", is_repository_url, "must be a file://, http:// or https:// URL ending in /",
         &config.metadata_url, true},
        {"targets_url", is_repository_url, "must be a file://, http:// or https:// URL ending in /",
         &config.targets_url, true},
        {"trusted_root", is_clean_absolute_path, "must be an absolute path", &config.trusted_root, true},
        {"state_dir", is_clean_absolute_path, "must be an absolute path", &config.state_dir, false},
        {"proxy", is_socks5h_proxy, "must be socks5h://HOST:PORT", &config.proxy, false},
        {"ca_file", is_clean_absolute_path, "must be an absolute path", &config.ca_file, false},
    }};
    for (const auto& entry : texts) {
        const toml::node* node = table.get(entry.key);
        if (node == nullptr) {
            if (entry.required) return reader.error(entry.key, "is required");
            continue;
        }
        auto value = checked_text(reader, *node, entry.key, entry.valid, entry.expectation);
        if (!value) return fail(value.error());
        *entry.field = std::move(*value);
    }
    if (const toml::node* policy = table.get("patch_policy")) {
        auto value = reader.text(*policy, "patch_policy");
        if (!value) return fail(value.error());
        if (*value == "require") {
            config.patches = PatchPolicy::require;
        } else if (*value == "warn") {
            config.patches = PatchPolicy::warn;
        } else {
            return reader.error(*policy, "patch_policy", "must be require or warn");
        }
    }
    if (const toml::node* mirrors = table.get("package_mirrors")) {
        const auto* flag = mirrors->as_boolean();
        if (flag == nullptr) return reader.error(*mirrors, "package_mirrors", "must be true or false");
        config.use_package_mirrors = flag->get();
    }
    if (const toml::node* uid = table.get("worker_uid")) {
        // Never root, never a Debian system or login id: the worker must own nothing else.
        auto value = reader.number(*uid, "worker_uid", 65536, 2147483646);
        if (!value) return fail(value.error());
        config.worker_uid = *value;
    }
    const toml::node* rebuilders = table.get("rebuilders");
    if (rebuilders == nullptr) return reader.error("rebuilders", "is required (the trusted rebuilder keys)");
    if (auto read = read_rebuilders(reader, *rebuilders, config); !read) return fail(read.error());
    if (const toml::node* apps = table.get("apps")) {
        if (auto read = read_apps(reader, *apps, config); !read) return fail(read.error());
    }
    return config;
}

}  // namespace bulkhead::appstore
