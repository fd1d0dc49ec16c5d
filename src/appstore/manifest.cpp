#include "appstore/manifest.hpp"

#include <algorithm>
#include <set>

#include "archpkg/version.hpp"
#include "base/text.hpp"
#include "json/parse.hpp"

namespace bulkhead::appstore {
namespace {

Result<void> only_keys(const json::Value& value, std::initializer_list<std::string_view> keys, std::string_view what) {
    if (!value.is_object()) return fail(ErrorCode::parse, concat({what, " is not an object"}));
    for (const auto key : keys) {
        if (value.find(key) == nullptr) return fail(ErrorCode::parse, concat({what, " has no '", key, "'"}));
    }
    for (const auto& [key, member] : value.as_object()) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            return fail(ErrorCode::parse, concat({what, " has an unknown field '", valid_utf8(key), "'"}));
        }
    }
    return {};
}

Result<std::string> text_field(const json::Value& object, std::string_view key, std::string_view what) {
    const auto* value = object.find(key);
    if (value == nullptr || !value->is_string()) {
        return fail(ErrorCode::parse, concat({what, " '", key, "' is not a string"}));
    }
    return value->as_string();
}

Result<std::vector<std::string>> text_list(const json::Value& object, std::string_view key, std::string_view what) {
    const auto* value = object.find(key);
    if (value == nullptr || !value->is_array()) {
        return fail(ErrorCode::parse, concat({what, " '", key, "' is not a list"}));
    }
    std::vector<std::string> out;
    out.reserve(value->as_array().size());
    for (const auto& item : value->as_array()) {
        if (!item.is_string()) return fail(ErrorCode::parse, concat({what, " '", key, "' has a non-string entry"}));
        out.push_back(item.as_string());
    }
    return out;
}

bool is_lower_hex(std::string_view text, std::size_t digits) {
    return text.size() == digits && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Result<json::Value> parse_json(std::string_view text, std::size_t max_bytes, std::string_view what) {
    json::ParseLimits limits;
    limits.max_bytes = max_bytes;
    limits.max_depth = 8;
    auto parsed = json::parse(text, limits);
    if (!parsed) return fail(ErrorCode::parse, concat({what, ": ", parsed.error().message}));
    return parsed;
}

Result<ManifestPackage> parse_package(const json::Value& value) {
    constexpr std::string_view kWhat = "closure manifest package";
    if (auto keys = only_keys(
            value,
            {"name", "version", "repository", "file", "target", "sha256", "sha512", "size", "patchless", "required_by"},
            kWhat);
        !keys) {
        return fail(keys.error());
    }
    ManifestPackage package;
    for (const auto& [field, into] :
         {std::pair{"name", &package.name}, std::pair{"version", &package.version},
          std::pair{"repository", &package.repository}, std::pair{"file", &package.file},
          std::pair{"target", &package.target}, std::pair{"sha256", &package.sha256},
          std::pair{"sha512", &package.sha512}, std::pair{"patchless", &package.patchless}}) {
        auto text = text_field(value, field, kWhat);
        if (!text) return fail(text.error());
        *into = std::move(text).value();
    }
    if (auto checked = archpkg::check_package_name(package.name); !checked) return fail(checked.error());
    if (auto checked = archpkg::check_full_version(package.version); !checked) return fail(checked.error());
    if (package.file.empty() || package.file.find('/') != std::string::npos || package.file.starts_with('.') ||
        package.target != "packages/" + package.file) {
        return fail(ErrorCode::parse, concat({kWhat, " ", package.name, " has a bad file or target name"}));
    }
    if (!is_lower_hex(package.sha256, 64) || !is_lower_hex(package.sha512, 128)) {
        return fail(ErrorCode::parse, concat({kWhat, " ", package.name, " has malformed hashes"}));
    }
    const auto* size = value.find("size");
    if (!size->is_integer() || size->as_integer() < 0) {
        return fail(ErrorCode::parse, concat({kWhat, " ", package.name, " has a bad size"}));
    }
    package.size = static_cast<std::uint64_t>(size->as_integer());
    if (package.patchless != "patchless" && package.patchless != "patched" && package.patchless != "unknown") {
        return fail(ErrorCode::parse, concat({kWhat, " ", package.name, " has an unknown patchless verdict"}));
    }
    if (auto required_by = text_list(value, "required_by", kWhat); !required_by) return fail(required_by.error());
    return package;
}

}  // namespace

Result<std::vector<std::string>> parse_versions_index(std::string_view text, std::string_view app) {
    auto parsed = parse_json(text, kMaxIndexBytes, "versions index");
    if (!parsed) return fail(parsed.error());
    if (auto keys = only_keys(*parsed, {"app", "versions"}, "versions index"); !keys) return fail(keys.error());
    auto name = text_field(*parsed, "app", "versions index");
    if (!name) return fail(name.error());
    if (*name != app) {
        return fail(ErrorCode::integrity, concat({"the versions index is for '", valid_utf8(*name), "', not ", app}));
    }
    auto versions = text_list(*parsed, "versions", "versions index");
    if (!versions) return fail(versions.error());
    std::set<std::string> seen;
    for (const auto& version : *versions) {
        if (auto checked = archpkg::check_full_version(version); !checked) {
            return fail(ErrorCode::parse, "versions index: " + checked.error().message);
        }
        if (!seen.insert(version).second) return fail(ErrorCode::parse, "versions index lists " + version + " twice");
    }
    constexpr std::size_t kMaxVersions = 4096;
    if (versions->size() > kMaxVersions) return fail(ErrorCode::too_large, "versions index lists over 4096 versions");
    archpkg::sort_versions(*versions);
    // Two spellings of one version ("1.0-1", "0:1.0-1") would make "the newest" ambiguous.
    for (std::size_t i = 1; i < versions->size(); ++i) {
        if (archpkg::compare_versions((*versions)[i - 1], (*versions)[i]) == 0) {
            return fail(ErrorCode::parse, concat({"versions index lists ", (*versions)[i - 1], " and ", (*versions)[i],
                                                  ", which are the same version"}));
        }
    }
    return versions;
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view app, std::string_view version) {
    constexpr std::string_view kWhat = "closure manifest";
    auto parsed = parse_json(text, kMaxManifestBytes, kWhat);
    if (!parsed) return fail(parsed.error());
    const auto& value = *parsed;
    if (auto keys = only_keys(value,
                              {"format", "app", "version", "distro", "snapshot", "rebuilder_threshold",
                               "rebuilder_keyids", "run", "packages"},
                              kWhat);
        !keys) {
        return fail(keys.error());
    }
    const auto* format = value.find("format");
    if (!format->is_integer() || format->as_integer() != 1) {
        return fail(ErrorCode::unsupported, "closure manifest format is not 1");
    }
    Manifest manifest;
    for (const auto& [field, into] :
         {std::pair{"app", &manifest.app}, std::pair{"version", &manifest.version},
          std::pair{"distro", &manifest.distro}, std::pair{"snapshot", &manifest.snapshot}}) {
        auto text_value = text_field(value, field, kWhat);
        if (!text_value) return fail(text_value.error());
        *into = std::move(text_value).value();
    }
    if (manifest.app != app || manifest.version != version) {
        return fail(ErrorCode::integrity, concat({"the closure manifest is for ", valid_utf8(manifest.app), " ",
                                                  valid_utf8(manifest.version), ", not ", app, " ", version}));
    }
    const auto& run = *value.find("run");
    if (auto keys = only_keys(run, {"command", "args"}, "closure manifest run"); !keys) return fail(keys.error());
    auto command = text_field(run, "command", "closure manifest run");
    if (!command) return fail(command.error());
    if (!command->starts_with('/')) return fail(ErrorCode::parse, "closure manifest run command is not absolute");
    manifest.command = std::move(command).value();
    auto args = text_list(run, "args", "closure manifest run");
    if (!args) return fail(args.error());
    manifest.args = std::move(args).value();
    const auto* packages = value.find("packages");
    if (!packages->is_array() || packages->as_array().empty()) {
        return fail(ErrorCode::parse, "closure manifest has no packages");
    }
    if (packages->as_array().size() > kMaxClosurePackages) {
        return fail(ErrorCode::too_large, "closure manifest has more than 5000 packages");
    }
    std::set<std::string> names;
    bool has_app = false;
    for (const auto& entry : packages->as_array()) {
        auto package = parse_package(entry);
        if (!package) return fail(package.error());
        if (!names.insert(package->name).second) {
            return fail(ErrorCode::parse, "closure manifest lists " + package->name + " twice");
        }
        if (package->name == app) has_app = (package->version == version);
        manifest.packages.push_back(std::move(package).value());
    }
    if (!has_app) return fail(ErrorCode::parse, concat({"closure manifest does not hold ", app, " ", version}));
    return manifest;
}

}  // namespace bulkhead::appstore
