#include "tuf/metadata.hpp"

#include <gtest/gtest.h>

#include "json/parse.hpp"
#include "test_repository.hpp"

namespace bulkhead::tuf {
namespace {

using testing::TestRepository;

std::string envelope(const nlohmann::json& signed_part, const nlohmann::json& signatures = nlohmann::json::array()) {
    return nlohmann::json{{"signatures", signatures}, {"signed", signed_part}}.dump();
}

TEST(Metadata, ParsesEveryRoleOfATestRepository) {
    TestRepository repo;
    repo.delegate("targets", "team", {"team/*"}, true);
    repo.add_target("team", "team/a.txt", "hello");
    repo.publish_all_targets_and_snapshot();
    auto root = parse_root(repo.latest_root());
    ASSERT_TRUE(root) << root.error().message;
    EXPECT_EQ(root->signed_part.keys.size(), 4U);
    EXPECT_TRUE(root->signed_part.consistent_snapshot);
    EXPECT_EQ(root->signed_part.timestamp.threshold, 1);
    auto timestamp = parse_timestamp(repo.timestamp_bytes);
    ASSERT_TRUE(timestamp) << timestamp.error().message;
    EXPECT_EQ(timestamp->signed_part.snapshot_meta.version, 2);
    auto snapshot = parse_snapshot(repo.snapshot_versions.rbegin()->second);
    ASSERT_TRUE(snapshot);
    EXPECT_EQ(snapshot->signed_part.meta.at("team.json").version, 1);
    auto targets = parse_targets(repo.latest_targets("targets"));
    ASSERT_TRUE(targets) << targets.error().message;
    ASSERT_TRUE(targets->signed_part.delegations);
    const DelegatedRole& team = targets->signed_part.delegations->roles.at(0);
    EXPECT_EQ(team.name, "team");
    EXPECT_TRUE(team.terminating);
    EXPECT_EQ(*team.paths, std::vector<std::string>{"team/*"});
    auto delegated = parse_targets(repo.latest_targets("team"));
    ASSERT_TRUE(delegated);
    EXPECT_EQ(delegated->signed_part.targets.at("team/a.txt").length, 5);
}

TEST(Metadata, CanonicalSignedBytesIncludeUnknownFields) {
    TestRepository repo;
    repo.root["x-custom"] = {{"nested", {1, 2}}};
    const std::string bytes = repo.sign("root", repo.root);
    auto root = parse_root(bytes);
    ASSERT_TRUE(root);
    EXPECT_NE(root->canonical_signed.find(R"("x-custom":{"nested":[1,2]})"), std::string::npos);
}

struct BadMetadata {
    const char* name;
    std::function<void(nlohmann::json&)> edit;
    std::string message;
};
void PrintTo(const BadMetadata& bad, std::ostream* out) { *out << bad.name; }

class RootRejects : public ::testing::TestWithParam<BadMetadata> {};

TEST_P(RootRejects, WithPreciseError) {
    TestRepository repo;
    nlohmann::json root = repo.root;
    GetParam().edit(root);
    auto parsed = parse_root(envelope(root));
    ASSERT_FALSE(parsed) << GetParam().name;
    EXPECT_EQ(parsed.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, RootRejects,
    ::testing::Values(
        BadMetadata{"missing_version", [](nlohmann::json& r) { r.erase("version"); }, "signed.version: missing"},
        BadMetadata{"zero_version", [](nlohmann::json& r) { r["version"] = 0; }, "signed.version: must be at least 1"},
        BadMetadata{"string_version", [](nlohmann::json& r) { r["version"] = "1"; },
                    "signed.version: expected integer, got string"},
        BadMetadata{"float_version", [](nlohmann::json& r) { r["version"] = 1.5; },
                    "signed: canonical JSON cannot represent the non-integer number 1.5"},
        BadMetadata{"wrong_type", [](nlohmann::json& r) { r["_type"] = "targets"; },
                    "signed._type: is 'targets', expected 'root'"},
        BadMetadata{"spec_2", [](nlohmann::json& r) { r["spec_version"] = "2.0.0"; },
                    "signed.spec_version: specification version 2.0.0 is not supported (this client implements 1.x)"},
        BadMetadata{"spec_garbage", [](nlohmann::json& r) { r["spec_version"] = "1.0.x"; },
                    "signed.spec_version: '1.0.x' is not a version of the form 1.x.y"},
        BadMetadata{"spec_one_part", [](nlohmann::json& r) { r["spec_version"] = "1"; },
                    "signed.spec_version: '1' is not a version of the form 1.x.y"},
        BadMetadata{"expires_fraction", [](nlohmann::json& r) { r["expires"] = "2030-01-01T00:00:00.1Z"; },
                    "signed.expires: expiry '2030-01-01T00:00:00.1Z' is not in the required form (expected "
                    "YYYY-MM-DDTHH:MM:SSZ in UTC)"},
        BadMetadata{"mirrors_role", [](nlohmann::json& r) { r["roles"]["mirrors"] = r["roles"]["root"]; },
                    "signed.roles.mirrors: unknown top-level role"},
        BadMetadata{"missing_role", [](nlohmann::json& r) { r["roles"].erase("snapshot"); },
                    "signed.roles.snapshot: missing"},
        BadMetadata{"zero_threshold", [](nlohmann::json& r) { r["roles"]["root"]["threshold"] = 0; },
                    "signed.roles.root.threshold: must be at least 1"},
        BadMetadata{"duplicate_keyids",
                    [](nlohmann::json& r) {
                        auto id = r["roles"]["root"]["keyids"][0];
                        r["roles"]["root"]["keyids"].push_back(id);
                    },
                    "signed.roles.root.keyids: lists '" + testing::test_key(0).keyid + "' more than once"},
        BadMetadata{"key_without_public",
                    [](nlohmann::json& r) { r["keys"][testing::test_key(0).keyid]["keyval"].erase("public"); },
                    "signed.keys." + testing::test_key(0).keyid + ".keyval.public: missing"},
        BadMetadata{"consistent_not_bool", [](nlohmann::json& r) { r["consistent_snapshot"] = 1; },
                    "signed.consistent_snapshot: expected boolean, got integer"}),
    [](const ::testing::TestParamInfo<BadMetadata>& bad_info) { return std::string(bad_info.param.name); });

TEST(Metadata, DuplicateSignatureKeyidsRejectTheFile) {
    TestRepository repo;
    nlohmann::json document = nlohmann::json::parse(repo.timestamp_bytes);
    document["signatures"].push_back(document["signatures"][0]);
    auto parsed = parse_timestamp(document.dump());
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().message, "signatures: keyid '" + testing::test_key(1).keyid + "' appears more than once");
}

TEST(Metadata, SignatureCountIsBounded) {
    TestRepository repo;
    nlohmann::json document = nlohmann::json::parse(repo.timestamp_bytes);
    for (int i = 0; i < 1100; ++i) document["signatures"].push_back({{"keyid", std::to_string(i)}, {"sig", ""}});
    auto parsed = parse_timestamp(document.dump());
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().message, "signatures: more than 1024 signatures");
}

TEST(Metadata, InvalidSignatureHexIsKeptAsNeverValid) {
    TestRepository repo;
    nlohmann::json document = nlohmann::json::parse(repo.timestamp_bytes);
    document["signatures"][0]["sig"] = "not hex";
    auto parsed = parse_timestamp(document.dump());
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->signatures.at(0).bytes.empty());
}

TEST(Metadata, UnsupportedKeyTypesAreKeptButUnusable) {
    TestRepository repo;
    repo.root["keys"]["odd"] = {
        {"keytype", "sphincs"}, {"scheme", "sphincs-shake-256f"}, {"keyval", {{"public", "00"}}}};
    auto root = parse_root(envelope(repo.root));
    ASSERT_TRUE(root) << root.error().message;
    const Key& odd = root->signed_part.keys.at("odd");
    EXPECT_FALSE(odd.verifier);
    EXPECT_EQ(odd.unusable_reason, "unsupported key type and scheme 'sphincs' / 'sphincs-shake-256f'");
}

TEST(Metadata, TimestampListsOnlySnapshot) {
    TestRepository repo;
    nlohmann::json timestamp = repo.timestamp;
    timestamp["meta"]["targets.json"] = {{"version", 1}};
    EXPECT_EQ(parse_timestamp(envelope(timestamp)).error().message, "signed.meta: must list only snapshot.json");
    timestamp["meta"].erase("snapshot.json");
    EXPECT_EQ(parse_timestamp(envelope(timestamp)).error().message, "signed.meta: does not list snapshot.json");
}

TEST(Metadata, DelegationRules) {
    TestRepository repo;
    repo.delegate("targets", "team", {"team/*"});
    nlohmann::json targets = repo.targets["targets"];
    auto reject = [&](const std::function<void(nlohmann::json&)>& edit, const std::string& message) {
        nlohmann::json copy = targets;
        edit(copy);
        auto parsed = parse_targets(envelope(copy));
        ASSERT_FALSE(parsed) << message;
        EXPECT_EQ(parsed.error().message, message);
    };
    reject([](nlohmann::json& t) { t["delegations"]["roles"][0]["path_hash_prefixes"] = {"ab"}; },
           "signed.delegations.roles[0]: must have exactly one of 'paths' and 'path_hash_prefixes'");
    reject([](nlohmann::json& t) { t["delegations"]["roles"][0]["name"] = "snapshot"; },
           "signed.delegations.roles[0].name: 'snapshot' is a top-level role name");
    reject([](nlohmann::json& t) { t["delegations"]["roles"].push_back(t["delegations"]["roles"][0]); },
           "signed.delegations.roles[1].name: 'team' is delegated twice");
    reject([](nlohmann::json& t) { t["delegations"]["roles"][0].erase("terminating"); },
           "signed.delegations.roles[0].terminating: missing");
    reject([](nlohmann::json& t) { t["delegations"]["succinct_roles"] = nlohmann::json::object(); },
           "signed.delegations: must have exactly one of 'roles' and 'succinct_roles'");
    reject(
        [](nlohmann::json& t) {
            t["delegations"].erase("roles");
            t["delegations"]["succinct_roles"] = {
                {"keyids", nlohmann::json::array()}, {"threshold", 1}, {"bit_length", 33}, {"name_prefix", "bin"}};
        },
        "signed.delegations.succinct_roles.bit_length: must be at most 32");
    reject(
        [](nlohmann::json& t) {
            t["targets"]["a"] = {{"length", 1}, {"hashes", nlohmann::json::object()}};
        },
        "signed.targets.a.hashes: must list at least one hash");
}

TEST(Metadata, KeyidIsSha256OfCanonicalKey) {
    const testing::TestKey& key = testing::test_key(0);
    auto object = json::parse(key.object.dump());
    EXPECT_EQ(*compute_keyid(*object), key.keyid);
    EXPECT_EQ(key.keyid.size(), 64U);
}

}  // namespace
}  // namespace bulkhead::tuf
