// Repository: the operations that change staged metadata.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "base/file_io.hpp"
#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "json/canonical.hpp"
#include "json/write.hpp"
#include "tuf/delegation.hpp"
#include "tuf_repo/names.hpp"
#include "tuf_repo/repository.hpp"
#include "tuf_repo/repository_detail.hpp"

namespace bulkhead::tuf_repo {

namespace {

constexpr unsigned kMaxBinBits = 16;
constexpr std::size_t kMaxDelegationDepth = 32;
constexpr std::size_t kMaxPatternBytes = 1024;
constexpr std::size_t kMaxCustomBytes = 65536;

// Length and SHA-256 of a file, as describe_target gives them for bytes.
Result<TargetEntry> describe_target_file(const std::string& path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening " + path));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return fail(Error::from_errno(errno, "reading " + path));
    if (!S_ISREG(info.st_mode)) return fail(ErrorCode::invalid_argument, path + " is not a regular file");
    crypto::Hasher sha256(crypto::HashAlgorithm::sha256);
    std::int64_t length = 0;
    auto read = read_fd_chunks(fd.get(), path, [&](std::string_view chunk) -> Result<void> {
        sha256.update(chunk);
        length += static_cast<std::int64_t>(chunk.size());
        return {};
    });
    if (!read) return fail(read.error());
    return TargetEntry{length, {{"sha256", hex_encode(sha256.finish())}}, {}};
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F;
    });
}

Result<void> check_patterns(const DelegationRequest& request) {
    if (request.paths.empty() == request.hash_prefixes.empty()) {
        return fail(ErrorCode::invalid_argument,
                    "a delegation needs either path patterns or hash prefixes (exactly one kind)");
    }
    for (const std::string& pattern : request.paths) {
        if (pattern.empty() || pattern.size() > kMaxPatternBytes || has_control_character(pattern)) {
            return fail(ErrorCode::invalid_argument,
                        "path pattern '" + pattern + "' is empty, too long or has control characters");
        }
    }
    for (const std::string& prefix : request.hash_prefixes) {
        const bool hex = std::all_of(prefix.begin(), prefix.end(),
                                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
        if (prefix.empty() || prefix.size() > 64 || !hex) {
            return fail(ErrorCode::invalid_argument,
                        "hash prefix '" + prefix + "' is not 1 to 64 lower-case hex digits");
        }
    }
    return {};
}

void add_keys(tuf::KeyMap& keys, const RoleKeySet& set) {
    for (const KeyIdentity& key : set.keys) keys.emplace(key.keyid, detail::tuf_key(key));
}

}  // namespace

Result<std::string> Repository::default_role_for(const std::string& path) {
    // The most specific role responsible for the path: down the delegations the way a client
    // searches them, taking the bin a path hashes to, or the first delegation that covers it.
    const std::string hash = tuf::target_path_hash(path);
    std::string current = "targets";
    for (std::size_t depth = 0; depth < kMaxDelegationDepth; ++depth) {
        auto role = load(current);
        if (!role) return fail(role.error());
        const auto& delegations = (*role)->targets->delegations;
        if (!delegations) return current;
        if (delegations->succinct) {
            current = tuf::succinct_bin_for(*delegations->succinct, hash);
            parents_[current] = (*role)->name;
            continue;
        }
        const auto covering =
            std::find_if(delegations->roles.begin(), delegations->roles.end(),
                         [&](const tuf::DelegatedRole& entry) { return tuf::role_covers_path(entry, path, hash); });
        if (covering == delegations->roles.end()) return current;
        parents_[covering->name] = current;
        current = covering->name;
    }
    return fail(ErrorCode::invalid_argument, "delegations for '" + path + "' are nested too deeply; give --role");
}

Result<void> Repository::check_trusted_for(const std::string& role, const std::string& path) {
    const std::string hash = tuf::target_path_hash(path);
    // Every delegation on the way down must cover the path, or clients never reach the role.
    for (std::string child = role; child != "targets";) {
        auto parent = delegator_of(child);
        if (!parent) return fail(parent.error());
        auto delegator = load(*parent);
        if (!delegator) return fail(delegator.error());
        const tuf::Delegations& delegations = *(*delegator)->targets->delegations;
        bool covered = false;
        std::string trusted_for;
        if (delegations.succinct) {
            covered = tuf::succinct_bin_for(*delegations.succinct, hash) == child;
            trusted_for = "the paths whose hash falls in its bin";
        } else {
            for (const tuf::DelegatedRole& entry : delegations.roles) {
                if (entry.name != child) continue;
                covered = tuf::role_covers_path(entry, path, hash);
                for (const std::string& item : entry.paths ? *entry.paths : *entry.path_hash_prefixes) {
                    if (!trusted_for.empty()) trusted_for += ", ";
                    trusted_for += item;
                }
            }
        }
        if ((*delegator)->targets->targets.contains(path)) {
            return fail(ErrorCode::invalid_argument, concat({*parent, " already lists '", path,
                                                             "', and clients take it from there before reaching '",
                                                             child, "'; remove it from ", *parent, " first"}));
        }
        if (!covered) {
            return fail(ErrorCode::invalid_argument,
                        concat({"target '", path, "' is outside what ", *parent, " delegates to '", child, "' (",
                                trusted_for, "); clients would never accept it from that role"}));
        }
        child = *parent;
    }
    return {};
}

Result<void> Repository::add_target(const std::string& path, TargetSource source, std::optional<json::Value> custom,
                                    const std::optional<std::string>& role) {
    if (auto checked = check_target_path(path); !checked) return checked;
    if (custom && !custom->is_object()) {
        return fail(ErrorCode::invalid_argument, "custom metadata must be a JSON object");
    }
    if (custom && json::to_json(*custom).size() > kMaxCustomBytes) {
        return fail(ErrorCode::too_large, "custom metadata is larger than 64 KiB");
    }
    if (custom && !json::canonical(*custom)) {
        return fail(ErrorCode::invalid_argument,
                    "custom metadata cannot be signed: canonical JSON allows whole numbers only");
    }
    auto name = role ? Result<std::string>(*role) : default_role_for(path);
    if (!name) return fail(name.error());
    if (auto loaded = load(*name); !loaded) return fail(loaded.error());
    if (!roles_.at(*name).targets) return fail(ErrorCode::invalid_argument, "'" + *name + "' is not a targets role");
    if (auto trusted = check_trusted_for(*name, path); !trusted) return trusted;

    TargetEntry entry;
    if (const auto* bytes = std::get_if<TargetBytes>(&source)) {
        entry = describe_target(bytes->bytes);
    } else {
        auto described = describe_target_file(std::get<TargetFilePath>(source).path);
        if (!described) return fail(described.error());
        entry = std::move(*described);
    }
    auto edited = edit(*name);
    if (!edited) return fail(edited.error());
    pending_blobs_.emplace(entry.hashes.front().second, PendingBlob{std::move(source), entry.length});
    (*edited)->targets->targets.insert_or_assign(
        path, tuf::TargetFile{entry.length, std::move(entry.hashes), std::move(custom)});
    return {};
}

Result<void> Repository::remove_target(const std::string& path, const std::optional<std::string>& role) {
    auto name = role ? Result<std::string>(*role) : default_role_for(path);
    if (!name) return fail(name.error());
    auto loaded = load(*name);
    if (!loaded) return fail(loaded.error());
    if (!(*loaded)->targets || !(*loaded)->targets->targets.contains(path)) {
        return fail(ErrorCode::not_found, "'" + *name + "' lists no target '" + path + "'");
    }
    auto edited = edit(*name);
    if (!edited) return fail(edited.error());
    (*edited)->targets->targets.erase((*edited)->targets->targets.find(path));
    return {};
}

Result<void> Repository::check_may_delegate(const std::string& delegator) {
    auto role = load(delegator);
    if (!role) return fail(role.error());
    if (!(*role)->targets) return fail(ErrorCode::invalid_argument, "only targets roles delegate; root does not");
    if (delegator == "targets") return {};
    auto parent = delegator_of(delegator);
    if (!parent) return fail(parent.error());
    auto above = load(*parent);
    if (!above) return fail(above.error());
    if ((*above)->targets->delegations && (*above)->targets->delegations->succinct) {
        return fail(ErrorCode::invalid_argument, "'" + delegator + "' is a hash bin; bins do not delegate further");
    }
    return {};
}

Result<void> Repository::delegate(const DelegationRequest& request) {
    if (auto checked = check_role_name(request.name); !checked) return checked;
    if (role_names().contains(request.name)) {
        return fail(ErrorCode::invalid_argument, "a role named '" + request.name + "' exists already");
    }
    auto keys = detail::role_keys(request.keys, request.name);
    if (!keys) return fail(keys.error());
    if (auto checked = check_patterns(request); !checked) return checked;
    if (auto allowed = check_may_delegate(request.delegator); !allowed) return allowed;
    auto delegator = load(request.delegator);
    if (!delegator) return fail(delegator.error());
    const auto& existing = (*delegator)->targets->delegations;
    if (existing && existing->succinct) {
        return fail(ErrorCode::invalid_argument,
                    request.delegator + " delegates to hash bins, which excludes delegating by name as well");
    }

    auto edited = edit(request.delegator);
    if (!edited) return fail(edited.error());
    auto& delegations = (*edited)->targets->delegations;
    if (!delegations) delegations.emplace();
    add_keys(delegations->keys, request.keys);
    tuf::DelegatedRole entry{request.name, *keys, request.terminating, std::nullopt, std::nullopt};
    if (!request.paths.empty()) {
        entry.paths = request.paths;
    } else {
        entry.path_hash_prefixes = request.hash_prefixes;
    }
    delegations->roles.push_back(std::move(entry));
    parents_[request.name] = request.delegator;

    tuf::Targets child;
    child.common = {tuf::RoleType::targets, std::string(kSpecVersion), 1, now_ + config_.expiry.targets * 86400};
    roles_.emplace(request.name, Role{request.name, std::nullopt, std::move(child), {}, 0, true, true});
    return {};
}

Result<void> Repository::delegate_bins(const BinsRequest& request) {
    if (request.bits < 1 || request.bits > kMaxBinBits) {
        return fail(ErrorCode::invalid_argument, "--bits must be between 1 and " + std::to_string(kMaxBinBits));
    }
    if (auto checked = check_bin_prefix(request.prefix); !checked) return checked;
    auto keys = detail::role_keys(request.keys, "bins");
    if (!keys) return fail(keys.error());
    if (auto allowed = check_may_delegate(request.delegator); !allowed) return allowed;
    auto delegator = load(request.delegator);
    if (!delegator) return fail(delegator.error());
    if ((*delegator)->targets->delegations) {
        return fail(ErrorCode::invalid_argument,
                    request.delegator + " delegates already; hash bins must be its only delegation");
    }
    const tuf::SuccinctRoles bins{*keys, request.bits, request.prefix};
    const std::set<std::string> names = role_names();
    const std::uint32_t count = std::uint32_t{1} << request.bits;
    for (std::uint32_t index = 0; index < count; ++index) {
        const std::string name = tuf::succinct_bin_name(bins, index);
        if (names.contains(name))
            return fail(ErrorCode::invalid_argument, "a role named '" + name + "' exists already");
    }

    auto edited = edit(request.delegator);
    if (!edited) return fail(edited.error());
    tuf::Delegations delegations;
    add_keys(delegations.keys, request.keys);
    delegations.succinct = bins;
    (*edited)->targets->delegations = std::move(delegations);
    for (std::uint32_t index = 0; index < count; ++index) {
        const std::string name = tuf::succinct_bin_name(bins, index);
        tuf::Targets bin;
        bin.common = {tuf::RoleType::targets, std::string(kSpecVersion), 1, now_ + config_.expiry.targets * 86400};
        roles_.emplace(name, Role{name, std::nullopt, std::move(bin), {}, 0, true, true});
        parents_[name] = request.delegator;
    }
    return {};
}

Result<void> Repository::rotate(tuf::RoleType type, const RoleKeySet& keys) {
    const std::string type_name(tuf::role_type_name(type));
    auto role_keys = detail::role_keys(keys, type_name);
    if (!role_keys) return fail(role_keys.error());
    auto root = load("root");
    if (!root) return fail(root.error());
    const tuf::Root& current = *(*root)->root;
    const bool online = type == tuf::RoleType::snapshot || type == tuf::RoleType::timestamp;
    // Compared by key material, not keyid: one key can be listed under several keyids.
    auto materials_of = [&current](std::initializer_list<tuf::RoleType> roles) {
        std::set<std::string> materials;
        for (const tuf::RoleType role : roles) {
            for (const std::string& keyid : current.role(role).keyids) {
                if (const auto key = current.keys.find(keyid); key != current.keys.end()) {
                    materials.insert(detail::key_material(key->second));
                }
            }
        }
        return materials;
    };
    const std::set<std::string> root_materials = materials_of({tuf::RoleType::root});
    const std::set<std::string> online_materials = materials_of({tuf::RoleType::snapshot, tuf::RoleType::timestamp});
    for (const KeyIdentity& key : keys.keys) {
        const std::string material = detail::key_material(key);
        if ((online && root_materials.contains(material)) ||
            (type == tuf::RoleType::root && online_materials.contains(material))) {
            return fail(ErrorCode::invalid_argument, "key " + key.keyid +
                                                         " would be both a root key and an online (snapshot or "
                                                         "timestamp) key; refused");
        }
    }
    auto edited = edit("root");
    if (!edited) return fail(edited.error());
    tuf::Root& root_metadata = *(*edited)->root;
    root_metadata.role(type) = *role_keys;
    add_keys(root_metadata.keys, keys);
    // Keep only the keys some role still uses.
    std::erase_if(root_metadata.keys, [&root_metadata](const auto& entry) {
        for (const tuf::RoleType role :
             {tuf::RoleType::root, tuf::RoleType::timestamp, tuf::RoleType::snapshot, tuf::RoleType::targets}) {
            const auto& ids = root_metadata.role(role).keyids;
            if (std::find(ids.begin(), ids.end(), entry.first) != ids.end()) return false;
        }
        return true;
    });
    // Top-level targets must be signed again by the new keys before it is published.
    if (type == tuf::RoleType::targets) {
        if (auto targets = edit("targets"); !targets) return fail(targets.error());
    }
    return {};
}

Result<void> Repository::renew(const std::string& role, std::optional<tuf::UnixSeconds> expires) {
    if (role == "snapshot" || role == "timestamp") {
        return fail(ErrorCode::invalid_argument, role + " is renewed by every publish");
    }
    if (expires && *expires <= now_) {
        return fail(ErrorCode::invalid_argument,
                    "the expiry " + tuf::format_expires(*expires) +
                        " is not in the future; metadata that is already expired is refused");
    }
    if (expires && *expires > now_ + kMaxExpiryDays * 86400) {
        return fail(ErrorCode::invalid_argument, "the expiry " + tuf::format_expires(*expires) + " is more than " +
                                                     std::to_string(kMaxExpiryDays) + " days away");
    }
    auto edited = edit(role);
    if (!edited) return fail(edited.error());
    // Also when the role was staged already: renewing is what unblocks a role that expired
    // while its signatures were being gathered.
    const tuf::RoleType type = (*edited)->root ? tuf::RoleType::root : tuf::RoleType::targets;
    (*edited)->common().expires = expires ? *expires : now_ + config_.expiry.days(type) * 86400;
    return {};
}

}  // namespace bulkhead::tuf_repo
