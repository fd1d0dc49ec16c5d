// Metadata built by the repository side must be exactly what the client accepts: this builds a
// small repository on disk from the builders, signs it with key files, and updates from it with
// the real client over file:// (offline media).
#include "tuf_repo/builders.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "fetch/fetcher.hpp"
#include "json/canonical.hpp"
#include "support/temp_dir.hpp"
#include "tuf/updater.hpp"
#include "tuf_repo/envelope.hpp"

namespace bulkhead::tuf_repo {
namespace {

namespace fs = std::filesystem;

SigningKey new_key() {
    auto key = crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519);
    return *read_key_file(*write_key_file(*key, std::nullopt), std::nullopt);
}

std::string signed_bytes(const json::Value& signed_part, const std::vector<const SigningKey*>& keys) {
    Envelope envelope{signed_part, {}};
    for (const SigningKey* key : keys) EXPECT_TRUE(sign(envelope, *key));
    return write_envelope(envelope);
}

void write(const fs::path& file, const std::string& bytes) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << bytes;
}

TEST(Builders, DescribeTarget) {
    const TargetEntry entry = describe_target("abc");
    EXPECT_EQ(entry.length, 3);
    ASSERT_EQ(entry.hashes.size(), 1U);
    EXPECT_EQ(entry.hashes[0].first, "sha256");
    EXPECT_EQ(entry.hashes[0].second, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Builders, EveryRoleParsesWithTheClientParser) {
    const SigningKey key = new_key();
    const RoleKeySet set{{key.identity}, 1};
    const tuf::UnixSeconds expires = tuf::now() + 3600;
    auto root = tuf::parse_root(signed_bytes(build_root(1, expires, true, set, set, set, set), {&key}));
    ASSERT_TRUE(root) << root.error().message;
    EXPECT_EQ(root->signed_part.common.spec_version, kSpecVersion);
    EXPECT_EQ(root->signed_part.keys.size(), 1U);  // one key serving four roles is listed once
    EXPECT_EQ(root->signed_part.targets.keyids, std::vector<std::string>{key.identity.keyid});
    EXPECT_EQ(root->signed_part.common.expires, expires);

    std::map<std::string, TargetEntry> targets{{"apps/a.txt", describe_target("a")}};
    auto parsed_targets = tuf::parse_targets(signed_bytes(build_targets(3, expires, targets), {&key}));
    ASSERT_TRUE(parsed_targets) << parsed_targets.error().message;
    EXPECT_EQ(parsed_targets->signed_part.targets.at("apps/a.txt").length, 1);

    const tuf::MetaFile meta = describe_metadata(3, "bytes");
    auto snapshot = tuf::parse_snapshot(signed_bytes(build_snapshot(4, expires, {{"targets.json", meta}}), {&key}));
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    EXPECT_EQ(*snapshot->signed_part.meta.at("targets.json").length, 5);
    auto timestamp = tuf::parse_timestamp(signed_bytes(build_timestamp(5, expires, meta), {&key}));
    ASSERT_TRUE(timestamp) << timestamp.error().message;
    EXPECT_EQ(timestamp->signed_part.snapshot_meta.version, 3);
}

TEST(Builders, ClientUpdatesFromABuiltRepositoryOnOfflineMedia) {
    const bulkhead::testing::TempDir dir;
    const fs::path published = dir.path() / "published";
    const SigningKey root_key = new_key();
    const SigningKey targets_key = new_key();
    const SigningKey online_key = new_key();
    const tuf::UnixSeconds expires = tuf::now() + 86400;

    const std::string content = "hello from the repository";
    const TargetEntry entry = describe_target(content);
    const std::string root =
        signed_bytes(build_root(1, expires, true, {{root_key.identity}, 1}, {{online_key.identity}, 1},
                                {{online_key.identity}, 1}, {{targets_key.identity}, 1}),
                     {&root_key});
    const std::string targets = signed_bytes(build_targets(1, expires, {{"apps/hello.txt", entry}}), {&targets_key});
    const std::string snapshot =
        signed_bytes(build_snapshot(1, expires, {{"targets.json", describe_metadata(1, targets)}}), {&online_key});
    const std::string timestamp =
        signed_bytes(build_timestamp(1, expires, describe_metadata(1, snapshot)), {&online_key});
    write(published / "metadata/1.root.json", root);
    write(published / "metadata/1.targets.json", targets);
    write(published / "metadata/1.snapshot.json", snapshot);
    write(published / "metadata/timestamp.json", timestamp);
    write(published / ("targets/apps/" + entry.hashes[0].second + ".hello.txt"), content);

    const fs::path client = dir.path() / "client";
    write(client / "metadata/root.json", root);
    fs::create_directories(client / "targets");
    const auto fetcher = fetch::make_fetcher();
    tuf::Updater updater((client / "metadata").string(), "file://" + (published / "metadata/").string(),
                         (client / "targets").string(), "file://" + (published / "targets/").string(), *fetcher);
    ASSERT_TRUE(updater.refresh());
    auto info = updater.get_targetinfo("apps/hello.txt");
    ASSERT_TRUE(info && *info);
    auto path = updater.download_target(**info);
    ASSERT_TRUE(path) << path.error().message;
    EXPECT_EQ(bulkhead::testing::read_whole_file(*path), content);

    // A tampered target on the medium is refused.
    write(published / ("targets/apps/" + entry.hashes[0].second + ".hello.txt"), "hello from an attacker!!!");
    fs::remove(*path);
    auto tampered = updater.download_target(**info);
    ASSERT_FALSE(tampered);
    EXPECT_EQ(tampered.error().code, ErrorCode::integrity);
}

}  // namespace
}  // namespace bulkhead::tuf_repo
