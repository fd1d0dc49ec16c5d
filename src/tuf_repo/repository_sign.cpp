// Repository: threshold signing, merging signatures made elsewhere, and the status report.
#include <algorithm>

#include "tuf/verify.hpp"
#include "tuf_repo/repository.hpp"
#include "tuf_repo/repository_detail.hpp"

namespace bulkhead::tuf_repo {

namespace {

struct Tally {
    std::vector<std::string> signed_by;
    std::vector<std::string> missing;
};

// Which of the role's keys made a valid signature over `message`.
Tally tally(const std::string& message, const std::vector<tuf::Signature>& signatures, const tuf::KeyMap& keys,
            const tuf::RoleKeys& role) {
    Tally result;
    for (const std::string& keyid : role.keyids) {
        const auto key = keys.find(keyid);
        const auto signature = std::find_if(signatures.begin(), signatures.end(),
                                            [&keyid](const tuf::Signature& entry) { return entry.keyid == keyid; });
        const bool valid = key != keys.end() && key->second.verifier && signature != signatures.end() &&
                           key->second.verifier->verify(message, signature->bytes);
        (valid ? result.signed_by : result.missing).push_back(keyid);
    }
    return result;
}

std::string join(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
    return text;
}

Failure below_threshold(const std::string& name, const Tally& counted, std::int64_t threshold,
                        const std::string& whose) {
    return fail(ErrorCode::not_signed, "role " + name + " has " + std::to_string(counted.signed_by.size()) +
                                           " of the " + std::to_string(threshold) + " signatures it needs from " +
                                           whose + "; still able to sign: " + join(counted.missing));
}

}  // namespace

Result<void> Repository::check_meets_threshold(const std::string& name) {
    auto role = load(name);
    if (!role) return fail(role.error());
    auto message = canonical_signed(**role);
    if (!message) return fail(message.error());
    auto authority_list = authorities(name);
    if (!authority_list) return fail(authority_list.error());
    for (std::size_t i = 0; i < authority_list->size(); ++i) {
        const Authority& authority = (*authority_list)[i];
        if (tuf::verify_threshold(name, *message, (*role)->signatures, *authority.keys, authority.role)) continue;
        const Tally counted = tally(*message, (*role)->signatures, *authority.keys, authority.role);
        const std::string whose =
            name == "root" ? (i == 0 ? "the new root keys" : "the keys of the root it replaces") : "its keys";
        return below_threshold(name, counted, authority.role.threshold, whose);
    }
    return {};
}

Result<std::vector<std::string>> Repository::sign(const SigningKey& key, const std::vector<std::string>& roles) {
    const bool explicit_roles = !roles.empty();
    std::vector<std::string> candidates = roles;
    if (!explicit_roles) {
        for (const std::string& name : staged_files_) candidates.push_back(name);
        for (const auto& [name, role] : roles_) {
            if (role.staged) candidates.push_back(name);
        }
        std::sort(candidates.begin(), candidates.end());
        candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    }
    std::vector<std::string> signed_roles;
    for (const std::string& name : candidates) {
        if (name == "snapshot" || name == "timestamp") {
            return fail(ErrorCode::invalid_argument, name + " is signed by `repo publish` with its online key");
        }
        auto role = load(name);
        if (!role) return fail(role.error());
        if (!(*role)->staged) {
            if (!explicit_roles) continue;
            return fail(ErrorCode::invalid_argument,
                        "role " + name + " has no staged changes to sign (stage it first, e.g. with `repo renew`)");
        }
        auto authority_list = authorities(name);
        if (!authority_list) return fail(authority_list.error());
        const tuf::Key* listed = nullptr;
        for (const Authority& authority : *authority_list) {
            const auto& ids = authority.role.keyids;
            const auto key_entry = authority.keys->find(key.identity.keyid);
            if (std::find(ids.begin(), ids.end(), key.identity.keyid) != ids.end() &&
                key_entry != authority.keys->end()) {
                listed = &key_entry->second;
            }
        }
        auto message = canonical_signed(**role);
        if (!message) return fail(message.error());
        auto signature = listed != nullptr ? key.key.sign(*message) : Result<std::string>(std::string());
        if (!signature) return fail(signature.error());
        // The listed key must verify what this key signed: a keyid alone is not proof.
        if (listed == nullptr || !listed->verifier || !listed->verifier->verify(*message, *signature)) {
            if (!explicit_roles) continue;
            std::vector<std::string> allowed;
            for (const Authority& authority : *authority_list) {
                allowed.insert(allowed.end(), authority.role.keyids.begin(), authority.role.keyids.end());
            }
            return fail(ErrorCode::permission_denied, "key " + key.identity.keyid + " is not authorised to sign " +
                                                          name + "; its keys are: " + join(allowed));
        }
        std::erase_if((*role)->signatures,
                      [&key](const tuf::Signature& existing) { return existing.keyid == key.identity.keyid; });
        (*role)->signatures.push_back(tuf::Signature{key.identity.keyid, std::move(*signature)});
        std::sort((*role)->signatures.begin(), (*role)->signatures.end(),
                  [](const tuf::Signature& left, const tuf::Signature& right) { return left.keyid < right.keyid; });
        (*role)->changed = true;
        signed_roles.push_back(name);
    }
    if (signed_roles.empty()) {
        return fail(ErrorCode::permission_denied, candidates.empty() ? "nothing is staged, so there is nothing to sign"
                                                                     : "key " + key.identity.keyid +
                                                                           " is not authorised for any staged role (" +
                                                                           join(candidates) + ")");
    }
    return signed_roles;
}

Result<std::size_t> Repository::merge_signatures(const std::string& name, const Envelope& from) {
    auto role = load(name);
    if (!role) return fail(role.error());
    if (!(*role)->staged) return fail(ErrorCode::invalid_argument, "role " + name + " has no staged changes");
    auto current = envelope(name);
    if (!current) return fail(current.error());
    auto authority_list = authorities(name);
    if (!authority_list) return fail(authority_list.error());
    tuf::KeyMap allowed;
    for (const Authority& authority : *authority_list) {
        for (const std::string& keyid : authority.role.keyids) {
            const auto key = authority.keys->find(keyid);
            if (key != authority.keys->end()) allowed.emplace(keyid, key->second);
        }
    }
    auto added = tuf_repo::merge_signatures(*current, from, allowed);
    if (!added) return fail(added.error());
    (*role)->signatures = std::move(current->signatures);
    (*role)->changed = (*role)->changed || *added > 0;
    return *added;
}

Result<RepoStatus> Repository::status() {
    RepoStatus report;
    std::vector<std::string> names{"root", "targets"};
    for (const std::string& name : role_names()) {
        if (name != "targets") names.push_back(name);
    }
    auto warn_expiry = [this, &report](const std::string& name, tuf::UnixSeconds expires, std::int64_t policy_days) {
        const std::int64_t left = expires - now_;
        if (left <= 0) {
            report.warnings.push_back(name + " expired at " + tuf::format_expires(expires));
        } else if (left * 5 < policy_days * 86400) {
            report.warnings.push_back(name + " expires in " + detail::days_text(left) + " (" +
                                      tuf::format_expires(expires) + ")");
        }
    };
    for (const std::string& name : names) {
        auto role = load(name);
        if (!role) return fail(role.error());
        RoleStatus entry;
        entry.name = name;
        entry.published_version = (*role)->published_version;
        entry.staged = (*role)->staged;
        entry.version = (*role)->common().version;
        entry.expires = (*role)->common().expires;
        if ((*role)->targets) entry.target_count = (*role)->targets->targets.size();
        auto message = canonical_signed(**role);
        if (!message) return fail(message.error());
        auto authority_list = authorities(name);
        if (!authority_list) return fail(authority_list.error());
        const Authority& authority = authority_list->front();
        entry.threshold = authority.role.threshold;
        Tally counted = tally(*message, (*role)->signatures, *authority.keys, authority.role);
        entry.signed_by = std::move(counted.signed_by);
        entry.missing = std::move(counted.missing);
        if (entry.staged) {
            if (auto met = check_meets_threshold(name); !met) report.warnings.push_back(met.error().message);
        } else {
            entry.published_expires = entry.expires;
        }
        warn_expiry(name, entry.expires,
                    config_.expiry.days((*role)->root ? tuf::RoleType::root : tuf::RoleType::targets));
        if (entry.staged && entry.published_version > 0) {
            // The published version keeps serving until the next publish.
            if (name == "root") {
                entry.published_expires = published_root_->common.expires;
            } else {
                auto published = read_published_targets(name);
                if (!published) return fail(published.error());
                if (*published) entry.published_expires = (*published)->common.expires;
            }
            if (entry.published_expires) {
                warn_expiry(name + " (published)", *entry.published_expires,
                            config_.expiry.days((*role)->root ? tuf::RoleType::root : tuf::RoleType::targets));
            }
        }
        report.roles.push_back(std::move(entry));
    }
    if (published_timestamp_) {
        report.timestamp_version = published_timestamp_->common.version;
        report.timestamp_expires = published_timestamp_->common.expires;
        warn_expiry("timestamp", *report.timestamp_expires, config_.expiry.timestamp);
    }
    if (published_snapshot_) {
        report.snapshot_version = published_snapshot_->common.version;
        report.snapshot_expires = published_snapshot_->common.expires;
        warn_expiry("snapshot", *report.snapshot_expires, config_.expiry.snapshot);
    }
    if (!published_root_) report.warnings.emplace_back("nothing is published yet");
    return report;
}

}  // namespace bulkhead::tuf_repo
