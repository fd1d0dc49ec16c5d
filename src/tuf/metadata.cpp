#include "tuf/metadata.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "json/canonical.hpp"
#include "json/parse.hpp"

namespace bulkhead::tuf {

namespace {

using json::Kind;
using json::Value;

Failure invalid(const std::string& path, const std::string& what) { return fail(ErrorCode::parse, path + ": " + what); }

std::string got(const Value& value) { return "got " + std::string(json::kind_name(value.kind())); }

// Reads the members of one JSON object, naming each field by its path in error messages.
class Fields {
public:
    static Result<Fields> of(const Value& value, std::string path) {
        if (!value.is_object()) return invalid(path, "expected an object, " + got(value));
        return Fields(value, std::move(path));
    }

    [[nodiscard]] std::string path(std::string_view key) const { return path_ + "." + std::string(key); }
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const Value& value() const { return *value_; }

    [[nodiscard]] Result<const Value*> required(std::string_view key, Kind kind) const {
        const Value* member = value_->find(key);
        if (member == nullptr) return invalid(path(key), "missing");
        if (member->kind() != kind) {
            return invalid(path(key), "expected " + std::string(json::kind_name(kind)) + ", " + got(*member));
        }
        return member;
    }

    // nullptr when absent.
    [[nodiscard]] Result<const Value*> optional(std::string_view key, Kind kind) const {
        if (value_->find(key) == nullptr) return static_cast<const Value*>(nullptr);
        return required(key, kind);
    }

    [[nodiscard]] Result<std::string> string(std::string_view key) const {
        auto member = required(key, Kind::string);
        if (!member) return fail(member.error());
        return (*member)->as_string();
    }

    [[nodiscard]] Result<std::int64_t> integer(std::string_view key, std::int64_t minimum) const {
        auto member = required(key, Kind::integer);
        if (!member) return fail(member.error());
        const std::int64_t number = (*member)->as_integer();
        if (number < minimum) return invalid(path(key), "must be at least " + std::to_string(minimum));
        return number;
    }

private:
    Fields(const Value& value, std::string path) : value_(&value), path_(std::move(path)) {}
    const Value* value_;
    std::string path_;
};

Result<std::vector<std::string>> string_list(const Fields& fields, std::string_view key, bool unique) {
    auto member = fields.required(key, Kind::array);
    if (!member) return fail(member.error());
    std::vector<std::string> items;
    items.reserve((*member)->as_array().size());
    for (const Value& item : (*member)->as_array()) {
        if (!item.is_string()) return invalid(fields.path(key), "expected a list of strings, found a " + got(item));
        items.push_back(item.as_string());
    }
    if (unique) {
        std::vector<std::string> sorted = items;
        std::sort(sorted.begin(), sorted.end());
        if (const auto repeated = std::adjacent_find(sorted.begin(), sorted.end()); repeated != sorted.end()) {
            return invalid(fields.path(key), "lists '" + *repeated + "' more than once");
        }
    }
    return items;
}

Result<RoleKeys> parse_role_keys(const Fields& fields) {
    auto keyids = string_list(fields, "keyids", true);
    if (!keyids) return fail(keyids.error());
    auto threshold = fields.integer("threshold", 1);
    if (!threshold) return fail(threshold.error());
    return RoleKeys{std::move(*keyids), *threshold};
}

Result<Hashes> parse_hashes(const Value& value, const std::string& path) {
    if (!value.is_object()) return invalid(path, "expected an object, " + got(value));
    if (value.as_object().empty()) return invalid(path, "must list at least one hash");
    Hashes hashes;
    for (const auto& [algorithm, digest] : value.as_object()) {
        if (!digest.is_string()) {
            std::string member_path = path;
            member_path += "." + algorithm;
            return invalid(member_path, "expected a string, " + got(digest));
        }
        hashes.emplace_back(algorithm, digest.as_string());
    }
    return hashes;
}

Result<MetaFile> parse_meta_file(const Value& value, const std::string& path) {
    auto fields = Fields::of(value, path);
    if (!fields) return fail(fields.error());
    MetaFile meta;
    auto version = fields->integer("version", 1);
    if (!version) return fail(version.error());
    meta.version = *version;
    if (fields->value().find("length") != nullptr) {
        auto length = fields->integer("length", 0);
        if (!length) return fail(length.error());
        meta.length = *length;
    }
    if (const Value* hashes = fields->value().find("hashes")) {
        auto parsed = parse_hashes(*hashes, fields->path("hashes"));
        if (!parsed) return fail(parsed.error());
        meta.hashes = std::move(*parsed);
    }
    return meta;
}

Result<Key> parse_key(const Value& value, const std::string& path) {
    auto fields = Fields::of(value, path);
    if (!fields) return fail(fields.error());
    Key key;
    auto keytype = fields->string("keytype");
    if (!keytype) return fail(keytype.error());
    auto scheme = fields->string("scheme");
    if (!scheme) return fail(scheme.error());
    auto keyval = fields->required("keyval", Kind::object);
    if (!keyval) return fail(keyval.error());
    auto keyval_fields = Fields::of(**keyval, fields->path("keyval"));
    auto public_value = keyval_fields->string("public");
    if (!public_value) return fail(public_value.error());
    key.keytype = std::move(*keytype);
    key.scheme = std::move(*scheme);
    key.public_value = std::move(*public_value);

    auto resolved = crypto::scheme_from_tuf(key.keytype, key.scheme);
    if (!resolved) {
        key.unusable_reason = resolved.error().message;
        return key;
    }
    auto verifier = crypto::PublicKey::from_tuf(*resolved, key.public_value);
    if (!verifier) {
        key.unusable_reason = verifier.error().message;
        return key;
    }
    key.verifier = std::move(*verifier);
    return key;
}

Result<KeyMap> parse_keys(const Fields& fields) {
    auto keys = fields.required("keys", Kind::object);
    if (!keys) return fail(keys.error());
    KeyMap map;
    for (const auto& [keyid, key_value] : (*keys)->as_object()) {
        auto key = parse_key(key_value, fields.path("keys") + "." + keyid);
        if (!key) return fail(key.error());
        map.emplace_hint(map.end(), keyid, std::move(*key));
    }
    return map;
}

Result<Common> parse_common(const Fields& fields, RoleType expected) {
    Common common;
    common.type = expected;
    auto type = fields.string("_type");
    if (!type) return fail(type.error());
    if (*type != role_type_name(expected)) {
        return invalid(fields.path("_type"),
                       "is '" + *type + "', expected '" + std::string(role_type_name(expected)) + "'");
    }
    auto spec_version = fields.string("spec_version");
    if (!spec_version) return fail(spec_version.error());
    if (auto supported = check_spec_version(*spec_version); !supported) {
        return invalid(fields.path("spec_version"), supported.error().message);
    }
    common.spec_version = std::move(*spec_version);
    auto version = fields.integer("version", 1);
    if (!version) return fail(version.error());
    common.version = *version;
    auto expires_text = fields.string("expires");
    if (!expires_text) return fail(expires_text.error());
    auto expires = parse_expires(*expires_text);
    if (!expires) return invalid(fields.path("expires"), expires.error().message);
    common.expires = *expires;
    return common;
}

// The envelope every role shares: {"signatures": [...], "signed": {...}}.
struct Envelope {
    Value document;
    std::vector<Signature> signatures;
    std::string canonical_signed;
};

Result<Envelope> parse_envelope(std::string_view bytes) {
    auto document = json::parse(bytes);
    if (!document) return fail(document.error());
    auto top = Fields::of(*document, "metadata");
    if (!top) return fail(top.error());
    auto signed_value = top->required("signed", Kind::object);
    if (!signed_value) return fail(signed_value.error());
    auto signatures = top->required("signatures", Kind::array);
    if (!signatures) return fail(signatures.error());

    // Far more than any real role has; bounds the work hostile metadata can cause before any
    // signature is checked.
    constexpr std::size_t kMaxSignatures = 1024;
    if ((*signatures)->as_array().size() > kMaxSignatures) {
        return invalid("signatures", "more than " + std::to_string(kMaxSignatures) + " signatures");
    }
    Envelope envelope;
    std::set<std::string, std::less<>> seen;
    std::size_t index = 0;
    for (const Value& entry : (*signatures)->as_array()) {
        auto fields = Fields::of(entry, "signatures[" + std::to_string(index++) + "]");
        if (!fields) return fail(fields.error());
        auto keyid = fields->string("keyid");
        if (!keyid) return fail(keyid.error());
        auto sig = fields->string("sig");
        if (!sig) return fail(sig.error());
        // Specification 4.2: each keyid appears once. A repeated one could otherwise be used to
        // confuse counting, so the whole file is refused, as the reference client does.
        if (!seen.insert(*keyid).second) {
            return invalid("signatures", "keyid '" + *keyid + "' appears more than once");
        }
        auto decoded = hex_decode(*sig);
        envelope.signatures.push_back(Signature{std::move(*keyid), decoded ? std::move(*decoded) : std::string()});
    }
    auto canonical = json::canonical(**signed_value);
    if (!canonical) return invalid("signed", canonical.error().message);
    envelope.canonical_signed = std::move(*canonical);
    envelope.document = std::move(*document);
    return envelope;
}

template <typename Signed>
Metadata<Signed> finish(Envelope& envelope, Signed signed_part) {
    return Metadata<Signed>{std::move(signed_part), std::move(envelope.signatures),
                            std::move(envelope.canonical_signed)};
}

Result<Fields> signed_fields(const Envelope& envelope) {
    return Fields::of(*envelope.document.find("signed"), "signed");
}

Result<Delegations> parse_delegations(const Fields& fields) {
    Delegations delegations;
    auto keys = parse_keys(fields);
    if (!keys) return fail(keys.error());
    delegations.keys = std::move(*keys);

    const Value* roles = fields.value().find("roles");
    const Value* succinct = fields.value().find("succinct_roles");
    if ((roles == nullptr) == (succinct == nullptr)) {
        return invalid(fields.path(), "must have exactly one of 'roles' and 'succinct_roles'");
    }
    if (succinct != nullptr) {
        auto succinct_fields = Fields::of(*succinct, fields.path("succinct_roles"));
        if (!succinct_fields) return fail(succinct_fields.error());
        auto role_keys = parse_role_keys(*succinct_fields);
        if (!role_keys) return fail(role_keys.error());
        auto bit_length = succinct_fields->integer("bit_length", 1);
        if (!bit_length) return fail(bit_length.error());
        if (*bit_length > 32) return invalid(succinct_fields->path("bit_length"), "must be at most 32");
        auto prefix = succinct_fields->string("name_prefix");
        if (!prefix) return fail(prefix.error());
        delegations.succinct =
            SuccinctRoles{std::move(*role_keys), static_cast<unsigned>(*bit_length), std::move(*prefix)};
        return delegations;
    }

    auto role_list = fields.required("roles", Kind::array);
    if (!role_list) return fail(role_list.error());
    std::set<std::string, std::less<>> names;
    std::size_t index = 0;
    for (const Value& entry : (*role_list)->as_array()) {
        auto role_fields = Fields::of(entry, fields.path("roles") + "[" + std::to_string(index++) + "]");
        if (!role_fields) return fail(role_fields.error());
        DelegatedRole role;
        auto name = role_fields->string("name");
        if (!name) return fail(name.error());
        if (name->empty()) return invalid(role_fields->path("name"), "must not be empty");
        if (*name == "root" || *name == "timestamp" || *name == "snapshot" || *name == "targets") {
            return invalid(role_fields->path("name"), "'" + *name + "' is a top-level role name");
        }
        if (!names.insert(*name).second)
            return invalid(role_fields->path("name"), "'" + *name + "' is delegated twice");
        role.name = std::move(*name);
        auto role_keys = parse_role_keys(*role_fields);
        if (!role_keys) return fail(role_keys.error());
        role.keys = std::move(*role_keys);
        auto terminating = role_fields->required("terminating", Kind::boolean);
        if (!terminating) return fail(terminating.error());
        role.terminating = (*terminating)->as_bool();
        const bool has_paths = role_fields->value().find("paths") != nullptr;
        const bool has_prefixes = role_fields->value().find("path_hash_prefixes") != nullptr;
        if (has_paths == has_prefixes) {
            return invalid(role_fields->path(), "must have exactly one of 'paths' and 'path_hash_prefixes'");
        }
        if (has_paths) {
            auto paths = string_list(*role_fields, "paths", false);
            if (!paths) return fail(paths.error());
            role.paths = std::move(*paths);
        } else {
            auto prefixes = string_list(*role_fields, "path_hash_prefixes", false);
            if (!prefixes) return fail(prefixes.error());
            role.path_hash_prefixes = std::move(*prefixes);
        }
        delegations.roles.push_back(std::move(role));
    }
    return delegations;
}

}  // namespace

std::string_view role_type_name(RoleType type) noexcept {
    switch (type) {
        case RoleType::root: return "root";
        case RoleType::timestamp: return "timestamp";
        case RoleType::snapshot: return "snapshot";
        case RoleType::targets: return "targets";
    }
    return "unknown";
}

const RoleKeys& Root::role(RoleType type) const {
    switch (type) {
        case RoleType::root: return root;
        case RoleType::timestamp: return timestamp;
        case RoleType::snapshot: return snapshot;
        case RoleType::targets: return targets;
    }
    return root;
}

RoleKeys& Root::role(RoleType type) {
    // The same selection as the const overload; *this is not const here, so the cast is sound.
    return const_cast<RoleKeys&>(std::as_const(*this).role(type));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

Result<std::string> compute_keyid(const json::Value& key_object) {
    auto canonical = json::canonical(key_object);
    if (!canonical) return fail(canonical.error());
    return hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, *canonical));
}

Result<void> check_spec_version(std::string_view version) {
    std::size_t parts = 0;
    std::size_t start = 0;
    std::string_view first;
    while (start <= version.size()) {
        const std::size_t dot = std::min(version.find('.', start), version.size());
        const std::string_view part = version.substr(start, dot - start);
        if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return fail(ErrorCode::unsupported, "'" + std::string(version) + "' is not a version of the form 1.x.y");
        }
        if (parts++ == 0) first = part;
        start = dot + 1;
    }
    if (parts < 2 || parts > 3) {
        return fail(ErrorCode::unsupported, "'" + std::string(version) + "' is not a version of the form 1.x.y");
    }
    if (first != "1") {
        return fail(ErrorCode::unsupported,
                    "specification version " + std::string(version) + " is not supported (this client implements 1.x)");
    }
    return {};
}

namespace {

// Envelope, common fields, then the role's own fields (`body`), for every role type.
template <typename Signed, typename Body>
Result<Metadata<Signed>> parse_metadata(std::string_view bytes, RoleType type, Body body) {
    auto envelope = parse_envelope(bytes);
    if (!envelope) return fail(envelope.error());
    auto fields = signed_fields(*envelope);
    if (!fields) return fail(fields.error());
    auto common = parse_common(*fields, type);
    if (!common) return fail(common.error());
    auto signed_part = body(*fields, *common);
    if (!signed_part) return fail(signed_part.error());
    return finish(*envelope, std::move(*signed_part));
}

Result<Snapshot> parse_snapshot_fields(const Fields& fields, const Common& common) {
    auto meta = fields.required("meta", Kind::object);
    if (!meta) return fail(meta.error());
    Snapshot snapshot;
    snapshot.common = common;
    for (const auto& [name, entry] : (*meta)->as_object()) {
        auto file = parse_meta_file(entry, fields.path("meta") + "." + name);
        if (!file) return fail(file.error());
        snapshot.meta.emplace_hint(snapshot.meta.end(), name, std::move(*file));
    }
    return snapshot;
}

Result<Root> parse_root_fields(const Fields& fields, const Common& common) {
    Root root;
    root.common = common;
    auto consistent = fields.optional("consistent_snapshot", Kind::boolean);
    if (!consistent) return fail(consistent.error());
    root.consistent_snapshot = *consistent != nullptr && (*consistent)->as_bool();
    auto keys = parse_keys(fields);
    if (!keys) return fail(keys.error());
    root.keys = std::move(*keys);
    auto roles = fields.required("roles", Kind::object);
    if (!roles) return fail(roles.error());
    auto role_fields = Fields::of(**roles, fields.path("roles"));
    for (const auto& [name, ignored] : (*roles)->as_object()) {
        if (name != "root" && name != "timestamp" && name != "snapshot" && name != "targets") {
            return invalid(role_fields->path(name), "unknown top-level role");
        }
    }
    for (RoleType type : {RoleType::root, RoleType::timestamp, RoleType::snapshot, RoleType::targets}) {
        auto role = role_fields->required(role_type_name(type), Kind::object);
        if (!role) return fail(role.error());
        auto keys_of_role = parse_role_keys(*Fields::of(**role, role_fields->path(role_type_name(type))));
        if (!keys_of_role) return fail(keys_of_role.error());
        root.role(type) = std::move(*keys_of_role);
    }
    return root;
}

Result<Timestamp> parse_timestamp_fields(const Fields& fields, const Common& common) {
    auto meta = fields.required("meta", Kind::object);
    if (!meta) return fail(meta.error());
    const Value* snapshot = (*meta)->find("snapshot.json");
    if (snapshot == nullptr) return invalid(fields.path("meta"), "does not list snapshot.json");
    if ((*meta)->as_object().size() != 1) return invalid(fields.path("meta"), "must list only snapshot.json");
    auto snapshot_meta = parse_meta_file(*snapshot, fields.path("meta") + ".snapshot.json");
    if (!snapshot_meta) return fail(snapshot_meta.error());
    return Timestamp{common, std::move(*snapshot_meta)};
}

Result<Targets> parse_targets_fields(const Fields& fields, const Common& common) {
    Targets targets;
    targets.common = common;
    auto listed = fields.required("targets", Kind::object);
    if (!listed) return fail(listed.error());
    for (const auto& [path, entry] : (*listed)->as_object()) {
        auto target_fields = Fields::of(entry, fields.path("targets") + "." + path);
        if (!target_fields) return fail(target_fields.error());
        TargetFile file;
        auto length = target_fields->integer("length", 0);
        if (!length) return fail(length.error());
        file.length = *length;
        auto hashes = target_fields->required("hashes", Kind::object);
        if (!hashes) return fail(hashes.error());
        auto parsed = parse_hashes(**hashes, target_fields->path("hashes"));
        if (!parsed) return fail(parsed.error());
        file.hashes = std::move(*parsed);
        if (const Value* custom = entry.find("custom")) file.custom = *custom;
        targets.targets.emplace_hint(targets.targets.end(), path, std::move(file));
    }
    auto delegations = fields.optional("delegations", Kind::object);
    if (!delegations) return fail(delegations.error());
    if (*delegations != nullptr) {
        auto parsed = parse_delegations(*Fields::of(**delegations, fields.path("delegations")));
        if (!parsed) return fail(parsed.error());
        targets.delegations = std::move(*parsed);
    }
    return targets;
}

}  // namespace

Result<Metadata<Root>> parse_root(std::string_view bytes) {
    return parse_metadata<Root>(bytes, RoleType::root, parse_root_fields);
}

Result<Metadata<Timestamp>> parse_timestamp(std::string_view bytes) {
    return parse_metadata<Timestamp>(bytes, RoleType::timestamp, parse_timestamp_fields);
}

Result<Metadata<Snapshot>> parse_snapshot(std::string_view bytes) {
    return parse_metadata<Snapshot>(bytes, RoleType::snapshot, parse_snapshot_fields);
}

Result<Metadata<Targets>> parse_targets(std::string_view bytes) {
    return parse_metadata<Targets>(bytes, RoleType::targets, parse_targets_fields);
}

}  // namespace bulkhead::tuf
