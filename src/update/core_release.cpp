#include "update/core_release.hpp"

#include <algorithm>
#include <array>

#include "base/text.hpp"

namespace bulkhead::update {

namespace {

constexpr std::int64_t kMaxRelease = std::int64_t{1} << 40;
constexpr std::size_t kMaxVersion = 64;

bool version_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

bool lower_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Failure bad(std::string_view why) { return fail(ErrorCode::parse, concat({"bulkhead_core custom metadata: ", why})); }

}  // namespace

std::string_view part_name(Part part) noexcept {
    switch (part) {
        case Part::uki: return "uki";
        case Part::verity: return "verity";
        case Part::root: return "root";
        case Part::boot_manager: return "boot_manager";
    }
    return "unknown";
}

std::string core_target_path(std::int64_t release, Part part) {
    static constexpr std::array<std::string_view, 4> kFiles = {"bulkhead.efi", "root.verity", "root.erofs",
                                                               "systemd-bootx64.efi"};
    return concat({"core/", std::to_string(release), "/", kFiles.at(static_cast<std::size_t>(part))});
}

json::Value core_custom(const CoreRelease& release, Part part) {
    return json::Value(json::Object{
        {"bulkhead_core", json::Value(json::Object{
                              {"part", json::Value(std::string(part_name(part)))},
                              {"release", json::Value(release.release)},
                              {"root_hash", json::Value(release.root_hash)},
                              {"security_version", json::Value(static_cast<std::int64_t>(release.security_version))},
                              {"version", json::Value(release.version)},
                          })},
    });
}

Result<std::optional<std::pair<CoreRelease, Part>>> parse_core_custom(const std::optional<json::Value>& custom) {
    if (!custom || !custom->is_object()) return std::optional<std::pair<CoreRelease, Part>>{};
    const json::Value* core = custom->find("bulkhead_core");
    if (core == nullptr) return std::optional<std::pair<CoreRelease, Part>>{};
    if (!core->is_object()) return bad("must be an object");
    if (core->as_object().size() != 5) {
        return bad("must have exactly part, release, root_hash, security_version and version");
    }
    const json::Value* part = core->find("part");
    const json::Value* release = core->find("release");
    const json::Value* root_hash = core->find("root_hash");
    const json::Value* security = core->find("security_version");
    const json::Value* version = core->find("version");
    if (part == nullptr || release == nullptr || root_hash == nullptr || security == nullptr || version == nullptr) {
        return bad("must have exactly part, release, root_hash, security_version and version");
    }
    std::pair<CoreRelease, Part> parsed;
    if (!part->is_string()) return bad("part must be a string");
    if (part->as_string() == "uki") {
        parsed.second = Part::uki;
    } else if (part->as_string() == "verity") {
        parsed.second = Part::verity;
    } else if (part->as_string() == "root") {
        parsed.second = Part::root;
    } else if (part->as_string() == "boot_manager") {
        parsed.second = Part::boot_manager;
    } else {
        return bad("part must be uki, verity, root or boot_manager");
    }
    if (!release->is_integer() || release->as_integer() < 1 || release->as_integer() > kMaxRelease) {
        return bad("release must be a whole number from 1 to 2^40");
    }
    parsed.first.release = release->as_integer();
    if (!security->is_integer() || security->as_integer() < 0 || security->as_integer() > 65535) {
        return bad("security_version must be a whole number from 0 to 65535");
    }
    parsed.first.security_version = static_cast<std::uint32_t>(security->as_integer());
    if (!root_hash->is_string() || (root_hash->as_string().size() != 64 && root_hash->as_string().size() != 128) ||
        !lower_hex(root_hash->as_string())) {
        return bad("root_hash must be 64 or 128 lower-case hex digits");
    }
    parsed.first.root_hash = root_hash->as_string();
    if (!version->is_string() || version->as_string().empty() || version->as_string().size() > kMaxVersion ||
        !std::all_of(version->as_string().begin(), version->as_string().end(), version_character)) {
        return bad("version must be 1 to 64 characters of [A-Za-z0-9._-]");
    }
    parsed.first.version = version->as_string();
    return std::optional<std::pair<CoreRelease, Part>>{std::move(parsed)};
}

}  // namespace bulkhead::update
