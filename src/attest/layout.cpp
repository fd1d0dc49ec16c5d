#include "attest/layout.hpp"

#include <ctime>

#include "base/text.hpp"
#include "json/canonical.hpp"
#include "json/write.hpp"

namespace bulkhead::attest {
namespace {

json::Value text(std::string_view value) { return json::Value(std::string(value)); }

json::Value words(std::initializer_list<std::string_view> items) {
    json::Array array;
    array.reserve(items.size());
    for (const auto item : items) array.push_back(text(item));
    return json::Value(std::move(array));
}

Result<std::string> utc_timestamp(std::int64_t seconds) {
    const auto time = static_cast<std::time_t>(seconds);
    std::tm parts{};
    if (::gmtime_r(&time, &parts) == nullptr) return fail(ErrorCode::invalid_argument, "expiry time out of range");
    std::string out(20, '\0');
    const auto written = std::strftime(out.data(), out.size() + 1, "%Y-%m-%dT%H:%M:%SZ", &parts);
    if (written != out.size()) return fail(ErrorCode::invalid_argument, "expiry time out of range");
    return out;
}

}  // namespace

std::string public_key_file(std::string_view public_hex) { return json::to_json(key_object(public_hex)); }

Result<std::string> make_rebuild_layout(const RebuilderPolicy& policy, std::string_view package_file,
                                        std::int64_t expires, const crypto::PrivateKey& layout_key) {
    if (auto checked = check_policy(policy); !checked) return fail(checked.error());
    if (package_file.empty() || package_file.find_first_of("*?[]/\\") != std::string_view::npos) {
        return fail(
            ErrorCode::invalid_argument,
            concat({"'", valid_utf8(package_file), "' cannot be named in an in-toto rule (glob characters or /)"}));
    }
    if (layout_key.scheme() != crypto::SignatureScheme::ed25519) {
        return fail(ErrorCode::invalid_argument, "the layout key must be Ed25519");
    }
    auto expiry = utc_timestamp(expires);
    if (!expiry) return fail(expiry.error());

    json::Object keys;
    json::Array pubkeys;
    for (const auto& key : policy.keys) {
        auto entry = key_object(key.public_hex).as_object();
        entry.emplace_back("keyid", text(key.keyid));
        keys.emplace_back(key.keyid, json::sorted_object(std::move(entry)));
        pubkeys.push_back(text(key.keyid));
    }
    const auto file = std::string(package_file);
    const auto rule = [](std::initializer_list<std::string_view> parts) { return words(parts); };
    auto step = json::sorted_object({
        {"_type", text("step")},
        {"name", text("rebuild")},
        {"threshold", json::Value(static_cast<std::int64_t>(policy.threshold))},
        {"pubkeys", json::Value(std::move(pubkeys))},
        {"expected_command", json::Value(json::Array{})},
        {"expected_materials", json::Value(json::Array{})},
        {"expected_products", json::Value(json::Array{rule({"ALLOW", file}), rule({"DISALLOW", "*"})})},
    });
    auto inspection = json::sorted_object({
        {"_type", text("inspection")},
        {"name", text("check-package")},
        {"run", words({"true"})},
        {"expected_materials",
         json::Value(json::Array{rule({"REQUIRE", file}), rule({"MATCH", file, "WITH", "PRODUCTS", "FROM", "rebuild"}),
                                 rule({"DISALLOW", "*"})})},
        {"expected_products", json::Value(json::Array{rule({"ALLOW", "*"})})},
    });
    auto signed_value = json::sorted_object({
        {"_type", text("layout")},
        {"expires", text(*expiry)},
        {"readme", text(concat({"Bulkhead rebuilder policy for ", file}))},
        {"keys", json::sorted_object(std::move(keys))},
        {"steps", json::Value(json::Array{std::move(step)})},
        {"inspect", json::Value(json::Array{std::move(inspection)})},
    });
    auto canonical = json::canonical(signed_value);
    if (!canonical) return fail(canonical.error());
    auto signature = layout_key.sign(*canonical);
    if (!signature) return fail(signature.error());
    auto document = json::sorted_object(
        {{"signatures",
          json::Value(json::Array{json::sorted_object(
              {{"keyid", text(keyid_of(layout_key.public_value()))}, {"sig", text(hex_encode(*signature))}})})},
         {"signed", std::move(signed_value)}});
    return json::to_json(document);
}

}  // namespace bulkhead::attest
