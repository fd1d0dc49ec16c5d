#include "tuf/trusted_set.hpp"

#include <gtest/gtest.h>

#include "test_repository.hpp"

namespace bulkhead::tuf {
namespace {

using testing::test_key;
using testing::TestRepository;

// Loads a fresh set from the repository's root version 1 and walks to its timestamp.
TrustedMetadataSet load_up_to_timestamp(const TestRepository& repo) {
    auto set = TrustedMetadataSet::create(repo.root_versions.begin()->second, repo.now);
    EXPECT_TRUE(set) << set.error().message;
    for (auto it = std::next(repo.root_versions.begin()); it != repo.root_versions.end(); ++it) {
        auto updated = set->update_root(it->second);
        EXPECT_TRUE(updated) << updated.error().message;
    }
    auto timestamp = set->update_timestamp(repo.timestamp_bytes);
    EXPECT_TRUE(timestamp) << timestamp.error().message;
    return std::move(*set);
}

TrustedMetadataSet load_all(const TestRepository& repo) {
    TrustedMetadataSet set = load_up_to_timestamp(repo);
    auto snapshot = set.update_snapshot(repo.snapshot_versions.rbegin()->second);
    EXPECT_TRUE(snapshot) << snapshot.error().message;
    auto targets = set.update_targets(repo.latest_targets("targets"));
    EXPECT_TRUE(targets) << targets.error().message;
    return set;
}

void expect_error(const Result<void>& result, ErrorCode code, const std::string& message_part) {
    ASSERT_FALSE(result) << "accepted, expected: " << message_part;
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_NE(result.error().message.find(message_part), std::string::npos) << result.error().message;
}

TEST(TrustedSet, LoadsAFreshRepository) {
    const TestRepository repo;
    TrustedMetadataSet set = load_all(repo);
    EXPECT_EQ(set.root().common.version, 1);
    EXPECT_EQ(set.timestamp()->common.version, 1);
    EXPECT_EQ(set.snapshot()->common.version, 1);
    ASSERT_NE(set.targets("targets"), nullptr);
    EXPECT_TRUE(set.root().consistent_snapshot);
}

TEST(TrustedSet, InitialRootMustBeSignedByItsOwnKeys) {
    TestRepository repo;
    repo.signers["root"] = {&test_key(50)};
    repo.root["version"] = 2;
    auto set = TrustedMetadataSet::create(repo.sign("root", repo.root), repo.now);
    ASSERT_FALSE(set);
    EXPECT_EQ(set.error().code, ErrorCode::not_signed);
    EXPECT_EQ(
        set.error().message,
        "trusted root: signed by 0 of the 1 distinct key(s) required (1 key(s) authorised, 1 signature(s) present)");
}

TEST(TrustedSet, RootRotationNeedsOldAndNewThresholds) {
    TestRepository repo;
    // v2: root key rotated from key 0 to key 10, signed by both: accepted.
    repo.set_role_keys("root", {&test_key(10)}, 1);
    repo.signers["root"] = {&test_key(0), &test_key(10)};
    repo.publish("root");
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    ASSERT_TRUE(set);
    ASSERT_TRUE(set->update_root(repo.root_versions.at(2)));
    EXPECT_EQ(set->root().common.version, 2);

    // v3 signed only by the new key 11 (not by the trusted key 10): refused, set unchanged.
    repo.set_role_keys("root", {&test_key(11)}, 1);
    repo.signers["root"] = {&test_key(11)};
    repo.publish("root");
    expect_error(set->update_root(repo.root_versions.at(3)), ErrorCode::not_signed, "by the keys of root version 2");
    EXPECT_EQ(set->root().common.version, 2);

    // v3 signed only by the old key 10: refused by its own threshold.
    repo.signers["root"] = {&test_key(10)};
    expect_error(set->update_root(repo.sign("root", repo.root)), ErrorCode::not_signed, "by its own keys");
}

TEST(TrustedSet, RootThresholdChangesUseBothThresholds) {
    TestRepository repo;
    repo.set_role_keys("root", {&test_key(0), &test_key(1), &test_key(2)}, 2);
    repo.signers["root"] = {&test_key(0)};
    repo.publish("root");  // v2: 2-of-3, signed by the old 1-of-1 key 0 only: below its own threshold
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    expect_error(set->update_root(repo.root_versions.at(2)), ErrorCode::not_signed, "by its own keys");
    repo.signers["root"] = {&test_key(0), &test_key(1)};
    ASSERT_TRUE(set->update_root(repo.sign("root", repo.root)));
    // v3: back to 1-of-3, signed by key 2 only: below the old threshold of 2.
    repo.root["roles"]["root"]["threshold"] = 1;
    repo.signers["root"] = {&test_key(2)};
    repo.publish("root");
    expect_error(set->update_root(repo.root_versions.at(3)), ErrorCode::not_signed, "signed by 1 of the 2");
}

TEST(TrustedSet, RootVersionMustBeExactlyNext) {
    TestRepository repo;
    repo.root["version"] = 3;
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    expect_error(set->update_root(repo.sign("root", repo.root)), ErrorCode::rollback,
                 "2.root.json: contains version 3, expected 2");
    repo.root["version"] = 1;
    expect_error(set->update_root(repo.sign("root", repo.root)), ErrorCode::rollback, "contains version 1");
}

TEST(TrustedSet, ExpiredRootIsRefusedBeforeTheTimestamp) {
    TestRepository repo;
    repo.root["expires"] = repo.expires_in(-60);
    repo.publish("root");
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    ASSERT_TRUE(set->update_root(repo.root_versions.at(2)));  // intermediate expiry is not checked
    auto timestamp = set->update_timestamp(repo.timestamp_bytes);
    ASSERT_FALSE(timestamp);
    EXPECT_EQ(timestamp.error().code, ErrorCode::expired);
    EXPECT_NE(timestamp.error().message.find("root.json: version 2 expired at"), std::string::npos);
}

TEST(TrustedSet, ExpiryEqualToStartTimeIsExpired) {
    TestRepository repo;
    repo.timestamp["expires"] = repo.expires_in(0);
    repo.publish("timestamp");
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    auto timestamp = set->update_timestamp(repo.timestamp_bytes);
    ASSERT_FALSE(timestamp);
    EXPECT_EQ(timestamp.error().code, ErrorCode::expired);
}

TEST(TrustedSet, TimestampRollbackEqualVersionAndSnapshotRollback) {
    TestRepository repo;
    const std::string v1 = repo.timestamp_bytes;
    repo.publish("snapshot");
    repo.publish("timestamp");  // v2 lists snapshot v2
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    ASSERT_EQ(*set->update_timestamp(repo.timestamp_bytes), TimestampUpdate::updated);

    EXPECT_EQ(*set->update_timestamp(repo.timestamp_bytes), TimestampUpdate::unchanged);
    auto older = set->update_timestamp(v1);
    ASSERT_FALSE(older);
    EXPECT_EQ(older.error().code, ErrorCode::rollback);
    EXPECT_EQ(older.error().message, "timestamp.json: version 1 is older than the trusted version 2");

    repo.timestamp["meta"]["snapshot.json"]["version"] = 1;
    repo.publish("timestamp");  // v3 goes back to snapshot v1
    auto snapshot_rollback = set->update_timestamp(repo.timestamp_bytes);
    ASSERT_FALSE(snapshot_rollback);
    EXPECT_EQ(snapshot_rollback.error().message,
              "timestamp.json: lists snapshot version 1, older than the trusted snapshot version 2");
    EXPECT_EQ(set->timestamp()->common.version, 2);
}

TEST(TrustedSet, TimestampMustBeSignedByTimestampKeys) {
    TestRepository repo;
    repo.signers["timestamp"] = {&test_key(2)};  // the snapshot key, not the timestamp key
    repo.publish("timestamp");
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    auto timestamp = set->update_timestamp(repo.timestamp_bytes);
    ASSERT_FALSE(timestamp);
    EXPECT_EQ(timestamp.error().code, ErrorCode::not_signed);
}

TEST(TrustedSet, WrongTypeIsRefused) {
    TestRepository repo;
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    auto timestamp = set->update_timestamp(repo.snapshot_versions.at(1));
    ASSERT_FALSE(timestamp);
    EXPECT_EQ(timestamp.error().message, "timestamp.json: signed._type: is 'snapshot', expected 'timestamp'");
}

TEST(TrustedSet, SnapshotHashLengthVersionAndRollback) {
    TestRepository repo;
    repo.with_hashes = true;
    repo.publish("snapshot");
    repo.publish("timestamp");
    TrustedMetadataSet set = load_up_to_timestamp(repo);
    std::string tampered = repo.snapshot_versions.at(2);
    tampered += " ";
    expect_error(set.update_snapshot(tampered), ErrorCode::integrity, "snapshot.json: length is");
    ASSERT_TRUE(set.update_snapshot(repo.snapshot_versions.at(2)));
    EXPECT_EQ(set.snapshot()->common.version, 2);
}

TEST(TrustedSet, SnapshotMustNotDropOrRollBackRoles) {
    TestRepository repo;
    repo.delegate("targets", "team", {"team/*"});
    repo.publish_all_targets_and_snapshot();  // snapshot v2 lists team.json v1 and targets.json v2
    TrustedMetadataSet set = load_up_to_timestamp(repo);
    ASSERT_TRUE(set.update_snapshot(repo.snapshot_versions.at(2)));

    // A new timestamp cannot be loaded once the snapshot is; build a second set for the next step.
    repo.snapshot["meta"].erase("team.json");
    repo.publish("snapshot");
    repo.publish("timestamp");
    auto next = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    ASSERT_TRUE(next->update_timestamp(repo.timestamp_bytes));
    ASSERT_FALSE(next->update_snapshot(repo.snapshot_versions.at(2), true));  // cached v2: version != 3
    expect_error(next->update_snapshot(repo.snapshot_versions.at(3)), ErrorCode::rollback,
                 "snapshot.json: no longer lists team.json");

    repo.snapshot["meta"]["team.json"] = {{"version", 1}};
    repo.snapshot["meta"]["targets.json"] = {{"version", 1}};
    repo.publish("snapshot");
    repo.publish("timestamp");
    auto third = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    ASSERT_TRUE(third->update_timestamp(repo.timestamp_bytes));
    ASSERT_FALSE(third->update_snapshot(repo.snapshot_versions.at(2), true));
    expect_error(third->update_snapshot(repo.snapshot_versions.at(4)), ErrorCode::rollback,
                 "snapshot.json: lists targets.json version 1, older than the trusted version 2");
}

TEST(TrustedSet, SnapshotVersionMustMatchTimestamp) {
    TestRepository repo;
    repo.timestamp["meta"]["snapshot.json"]["version"] = 2;
    repo.publish("timestamp");
    TrustedMetadataSet set = load_up_to_timestamp(repo);
    expect_error(set.update_snapshot(repo.snapshot_versions.at(1)), ErrorCode::rollback,
                 "snapshot.json: version 1 does not match version 2 listed by the timestamp");
}

TEST(TrustedSet, TargetsChecks) {
    TestRepository repo;
    repo.targets["targets"]["expires"] = repo.expires_in(-1);
    repo.publish_all_targets_and_snapshot();
    TrustedMetadataSet set = load_up_to_timestamp(repo);
    ASSERT_TRUE(set.update_snapshot(repo.snapshot_versions.at(2)));
    expect_error(set.update_targets(repo.targets_versions.at("targets").at(1)), ErrorCode::rollback,
                 "targets.json: version 1 does not match version 2 listed by the snapshot");
    expect_error(set.update_targets(repo.latest_targets("targets")), ErrorCode::expired, "targets.json: version 2");
    EXPECT_EQ(set.targets("targets"), nullptr);
}

TEST(TrustedSet, UnknownHashAlgorithmIsRefused) {
    TestRepository repo;
    repo.timestamp["meta"]["snapshot.json"]["hashes"] = {{"md5", "00"}};
    repo.publish("timestamp");
    TrustedMetadataSet set = load_up_to_timestamp(repo);
    expect_error(set.update_snapshot(repo.snapshot_versions.at(1)), ErrorCode::integrity,
                 "snapshot.json: cannot be verified: unsupported hash algorithm 'md5'");
}

TEST(TrustedSet, OneKeyCountsOnceEvenUnderTwoKeyids) {
    TestRepository repo;
    // The same public key listed under a second keyid, threshold 2, signed under both keyids.
    const testing::TestKey& key = test_key(3);
    testing::TestKey alias{key.key, "alias-" + key.keyid, key.object};
    repo.root["keys"][alias.keyid] = alias.object;
    repo.root["roles"]["timestamp"] = {{"keyids", {key.keyid, alias.keyid}}, {"threshold", 2}};
    repo.signers["timestamp"] = {&key, &alias};
    repo.signers["root"] = {&test_key(0)};
    repo.publish("root");
    repo.publish("timestamp");
    auto set = TrustedMetadataSet::create(repo.root_versions.at(1), repo.now);
    ASSERT_TRUE(set->update_root(repo.root_versions.at(2)));
    auto timestamp = set->update_timestamp(repo.timestamp_bytes);
    ASSERT_FALSE(timestamp);
    EXPECT_EQ(timestamp.error().code, ErrorCode::not_signed);
    EXPECT_NE(timestamp.error().message.find("signed by 1 of the 2"), std::string::npos);
}

TEST(TrustedSet, DelegatedRoleIsVerifiedWithTheDelegatorsKeys) {
    TestRepository repo;
    repo.delegate("targets", "team", {"team/*"}, false, 20);
    repo.publish_all_targets_and_snapshot();
    TrustedMetadataSet set = load_all(repo);
    ASSERT_TRUE(set.update_delegated_targets(repo.latest_targets("team"), "team", "targets"));
    expect_error(set.update_delegated_targets(repo.latest_targets("team"), "other", "targets"), ErrorCode::not_found,
                 "targets does not delegate to other");
}

TEST(TrustedSet, DiamondDelegationIsCheckedAgainstEachDelegator) {
    TestRepository repo;
    repo.delegate("targets", "parent-a", {"team-a/*"}, false, 21);
    repo.delegate("targets", "parent-b", {"team-b/*"}, false, 22);
    repo.delegate("parent-a", "release", {"team-a/*"}, false, 23);
    repo.delegate("parent-b", "release", {"team-b/*"}, false, 24);
    repo.signers["release"] = {&test_key(23)};  // only parent-a's key signs release
    repo.publish_all_targets_and_snapshot();
    TrustedMetadataSet set = load_all(repo);
    ASSERT_TRUE(set.update_delegated_targets(repo.latest_targets("parent-a"), "parent-a", "targets"));
    ASSERT_TRUE(set.update_delegated_targets(repo.latest_targets("parent-b"), "parent-b", "targets"));
    ASSERT_TRUE(set.update_delegated_targets(repo.latest_targets("release"), "release", "parent-a"));
    EXPECT_TRUE(set.verify_delegated_against("release", "parent-a"));
    expect_error(set.verify_delegated_against("release", "parent-b"), ErrorCode::not_signed,
                 "release.json (delegated by parent-b)");
}

TEST(TrustedSet, SuccinctBinNames) {
    Targets delegator;
    delegator.delegations = Delegations{};
    delegator.delegations->succinct = SuccinctRoles{RoleKeys{{"k"}, 1}, 8, "bin"};
    EXPECT_NE(TrustedMetadataSet::delegated_role_keys(delegator, "bin-fc"), nullptr);
    EXPECT_NE(TrustedMetadataSet::delegated_role_keys(delegator, "bin-00"), nullptr);
    EXPECT_EQ(TrustedMetadataSet::delegated_role_keys(delegator, "bin-FC"), nullptr);
    EXPECT_EQ(TrustedMetadataSet::delegated_role_keys(delegator, "bin-100"), nullptr);
    EXPECT_EQ(TrustedMetadataSet::delegated_role_keys(delegator, "bin-f"), nullptr);
    EXPECT_EQ(TrustedMetadataSet::delegated_role_keys(delegator, "bins-fc"), nullptr);
    delegator.delegations->succinct->bit_length = 14;  // 16,384 bins, 4 hex digits
    EXPECT_NE(TrustedMetadataSet::delegated_role_keys(delegator, "bin-3fff"), nullptr);
    EXPECT_EQ(TrustedMetadataSet::delegated_role_keys(delegator, "bin-4000"), nullptr);
}

}  // namespace
}  // namespace bulkhead::tuf
