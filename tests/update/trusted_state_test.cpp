// The TUF baseline a core keeps on its ESP (a real FAT file system, changed with mtools), and
// bundles verified against it: metadata may not go back, a rotated root stays rotated, and a
// damaged or foreign baseline never stops an update.
#include "update/trusted_state.hpp"

#include <gtest/gtest.h>

#include "base/process.hpp"
#include "release_fixture.hpp"

namespace bulkhead::update {
namespace {

namespace fs = std::filesystem;
using tuf_repo::Repository;
using tuf_repo::SigningKey;
using tuf_repo::testing::key_set;
using tuf_repo::testing::new_key;

class TrustedStateTest : public testing::ReleaseFixture {
protected:
    void SetUp() override {
        ReleaseFixture::SetUp();
        disk = (dir.path() / "esp.img").string();
        ASSERT_TRUE(run_program_checked({"/usr/bin/truncate", "-s", "40M", disk}));
        ASSERT_TRUE(run_program_checked({"/usr/sbin/mkfs.vfat", "-F", "32", "--offset", "2048", disk}));
    }

    [[nodiscard]] boot::Esp esp() const { return boot::Esp(disk, 1 << 20); }

    // A bundle of the published tree as it is now, kept under `name`.
    std::string bundle_now(const std::string& name) {
        const std::string out = (dir.path() / name).string();
        auto made = bundle_from_published(published(), 0, out);
        EXPECT_TRUE(made) << made.error().message;
        return out;
    }
    Result<VerifiedBundle> verify(const std::string& path, const TrustedState& earlier, tuf::UnixSeconds at = 0) {
        auto opened = bundle::Bundle::open(path);
        if (!opened) return fail(opened.error());
        return verify_bundle(*opened, trusted_root(), at == 0 ? now : at, earlier);
    }
    std::vector<std::string> files() const {
        auto names = esp().list(kTrustedStateDir);
        return names ? *names : std::vector<std::string>{};
    }

    // A root 2 of this repository, signed by its root key (for a file to compare against).
    std::string junk_root() {
        const SigningKey next = new_key();
        auto repository = Repository::open(repo(), now);
        EXPECT_TRUE(repository);
        EXPECT_TRUE(repository->rotate(tuf::RoleType::root, key_set({&next})));
        EXPECT_TRUE(repository->commit());
        EXPECT_TRUE(repository->sign(root_key, {}));
        EXPECT_TRUE(repository->sign(next, {}));
        EXPECT_TRUE(repository->publish({&online_key}, {&online_key}));
        return bulkhead::testing::read_whole_file(fs::path(published()) / "metadata/2.root.json");
    }

    std::string disk;
};

TEST(StateFileName, OnlyOurNamesWithPlainVersionsCount) {
    using Kind = StateFileName::Kind;
    auto root = parse_state_file_name("12.root.json");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->kind, Kind::root);
    EXPECT_EQ(root->version, 12);
    auto timestamp = parse_state_file_name("timestamp-3.json");
    ASSERT_TRUE(timestamp);
    EXPECT_EQ(timestamp->kind, Kind::timestamp);
    EXPECT_EQ(timestamp->version, 3);
    auto snapshot = parse_state_file_name("snapshot-1.json");
    ASSERT_TRUE(snapshot);
    EXPECT_EQ(snapshot->kind, Kind::snapshot);
    auto temporary = parse_state_file_name(".partial-00-timestamp-2.json");
    ASSERT_TRUE(temporary);
    EXPECT_EQ(temporary->kind, Kind::temporary);
    for (const char* name : {"root.json", "0.root.json", "01.root.json", "-1.root.json", "+1.root.json",
                             "1.root.json.bak", "timestamp-.json", "timestamp-1.JSON", "snapshot-1a.json",
                             "timestamp-99999999999999999999.json", "README", "", "snapshot-.json"}) {
        EXPECT_FALSE(parse_state_file_name(name)) << name;
    }
}

TEST_F(TrustedStateTest, AnEmptyEspHasNoStateAndAStateRoundTrips) {
    auto empty = load_trusted_state(esp());
    ASSERT_TRUE(empty) << empty.error().message;
    EXPECT_EQ(*empty, TrustedState{});

    add_release(first, "one");
    publish({&root_key, &targets_key});
    auto verified = verify(bundle_now("1.bundle"), {});
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_TRUE(verified->accepted.roots.empty()) << "the image's own root is not kept";
    ASSERT_TRUE(verified->accepted.timestamp && verified->accepted.snapshot);
    auto saved = save_trusted_state(esp(), verified->accepted);
    ASSERT_TRUE(saved) << saved.error().message;
    auto loaded = load_trusted_state(esp());
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(*loaded, verified->accepted);
    auto listed = files();
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, (std::vector<std::string>{"snapshot-1.json", "timestamp-1.json"}));
}

TEST_F(TrustedStateTest, OlderMetadataIsRefusedOnceNewerWasAccepted) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    const std::string older = bundle_now("1.bundle");
    add_release(second, "two");
    publish({&targets_key});
    const std::string newer = bundle_now("2.bundle");

    // Without a baseline the older bundle, still unexpired, verifies: that is the gap the state closes.
    ASSERT_TRUE(verify(older, {}));
    auto accepted = verify(newer, {});
    ASSERT_TRUE(accepted) << accepted.error().message;
    ASSERT_TRUE(save_trusted_state(esp(), accepted->accepted));
    auto baseline = load_trusted_state(esp());
    ASSERT_TRUE(baseline) << baseline.error().message;

    auto refused = verify(older, *baseline);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::rollback) << refused.error().message;
    EXPECT_NE(refused.error().message.find("older than the trusted version"), std::string::npos)
        << refused.error().message;
    // The same bundle again is fine (a medium left attached), and changes nothing.
    auto again = verify(newer, *baseline);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->accepted, *baseline);
}

TEST_F(TrustedStateTest, AMachineOfflineForAMonthStillTakesANewerBundle) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    auto accepted = verify(bundle_now("1.bundle"), {});
    ASSERT_TRUE(accepted) << accepted.error().message;
    // A month later the kept timestamp and snapshot have long expired; they still serve as the
    // baseline, and a bundle published then, with newer versions, is taken.
    const tuf::UnixSeconds later = now + 30LL * 24 * 3600;
    add_release(second, "two");
    {
        auto repository = Repository::open(repo(), later);
        ASSERT_TRUE(repository) << repository.error().message;
        ASSERT_TRUE(repository->sign(targets_key, {}));
        ASSERT_TRUE(repository->publish({&online_key}, {&online_key}));
    }
    auto newer = verify(bundle_now("2.bundle"), accepted->accepted, later);
    ASSERT_TRUE(newer) << newer.error().message;
    EXPECT_EQ(newer->release, second);
    // The month-old bundle itself is expired by then.
    auto stale = verify((dir.path() / "1.bundle").string(), newer->accepted, later);
    ASSERT_FALSE(stale);
}

TEST_F(TrustedStateTest, ARotatedRootIsKeptAndWalkedFromTheImagesRoot) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    const SigningKey new_root = new_key();
    {
        auto repository = Repository::open(repo(), now);
        ASSERT_TRUE(repository);
        ASSERT_TRUE(repository->rotate(tuf::RoleType::root, key_set({&new_root})));
        ASSERT_TRUE(repository->commit());
    }
    publish({&root_key, &new_root});
    auto rotated = verify(bundle_now("rotated.bundle"), {});
    ASSERT_TRUE(rotated) << rotated.error().message;
    ASSERT_EQ(rotated->accepted.roots.size(), 1U);
    ASSERT_TRUE(save_trusted_state(esp(), rotated->accepted));
    auto baseline = load_trusted_state(esp());
    ASSERT_TRUE(baseline);
    EXPECT_EQ(baseline->roots, rotated->accepted.roots);
    auto listed = files();
    EXPECT_NE(std::find(listed.begin(), listed.end(), "2.root.json"), listed.end());
    // A later bundle need not carry root 2 any more: the kept one continues the walk.
    auto next = verify(bundle_now("next.bundle"), *baseline);
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->root_version, 2);
}

TEST_F(TrustedStateTest, DamagedOrForeignFilesAreNoBaselineAndAreReplaced) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    auto verified = verify(bundle_now("1.bundle"), {});
    ASSERT_TRUE(verified);
    ASSERT_TRUE(save_trusted_state(esp(), verified->accepted));

    // A timestamp of a higher version that is not one (a damaged or planted file), a leftover
    // of a crash in the middle of a save, and a file that is not ours.
    const std::string junk = dir.write("junk", "{\"not\": \"metadata\"}").string();
    ASSERT_TRUE(esp().put(junk, std::string(kTrustedStateDir) + "/timestamp-9.json"));
    ASSERT_TRUE(esp().put(junk, std::string(kTrustedStateDir) + "/.partial-snapshot-2.json"));
    ASSERT_TRUE(esp().put(junk, std::string(kTrustedStateDir) + "/README"));
    auto loaded = load_trusted_state(esp());
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(*loaded, verified->accepted) << "the newest readable timestamp counts";

    ASSERT_TRUE(save_trusted_state(esp(), verified->accepted));
    auto listed = files();
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, (std::vector<std::string>{"README", "snapshot-1.json", "timestamp-1.json"}));

    // A kept root that holds something else than its name promises is replaced by the real one.
    ASSERT_TRUE(esp().put(junk, std::string(kTrustedStateDir) + "/2.root.json"));
    TrustedState with_root = verified->accepted;
    with_root.roots = {junk_root()};
    ASSERT_TRUE(save_trusted_state(esp(), with_root));
    auto replaced = load_trusted_state(esp());
    ASSERT_TRUE(replaced) << replaced.error().message;
    EXPECT_EQ(replaced->roots, with_root.roots);
}

TEST_F(TrustedStateTest, ACrashBetweenPlacingAndDeletingLeavesTheNewestInForce) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    auto one = verify(bundle_now("1.bundle"), {});
    ASSERT_TRUE(one);
    add_release(second, "two");
    publish({&targets_key});
    auto two = verify(bundle_now("2.bundle"), one->accepted);
    ASSERT_TRUE(two) << two.error().message;
    ASSERT_TRUE(save_trusted_state(esp(), one->accepted));
    // The state as a save of `two` leaves it when it stops before deleting version 1: both
    // timestamps, and a half-placed snapshot under a temporary name.
    const std::string timestamp = dir.write("ts2", *two->accepted.timestamp).string();
    ASSERT_TRUE(esp().put(timestamp, std::string(kTrustedStateDir) + "/timestamp-2.json"));
    const std::string half = dir.write("half", two->accepted.snapshot->substr(0, 40)).string();
    ASSERT_TRUE(esp().put(half, std::string(kTrustedStateDir) + "/.partial-0123456789abcdef-snapshot-2.json"));
    auto loaded = load_trusted_state(esp());
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->timestamp, two->accepted.timestamp);
    EXPECT_EQ(loaded->snapshot, one->accepted.snapshot);
    // Release 1's bundle is refused against it; the next save cleans up.
    auto refused = verify((dir.path() / "1.bundle").string(), *loaded);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::rollback) << refused.error().message;
    ASSERT_TRUE(save_trusted_state(esp(), two->accepted));
    auto listed = files();
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, (std::vector<std::string>{"snapshot-2.json", "timestamp-2.json"}));
}

TEST_F(TrustedStateTest, AnotherRepositorysRootIsNoBaseline) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    // A validly signed root 2 of another repository, as if planted on the ESP.
    const SigningKey other_root = new_key();
    const SigningKey other_next = new_key();
    const std::string other_repo = (dir.path() / "other").string();
    {
        tuf_repo::InitOptions options;
        options.root = key_set({&other_root});
        options.targets = key_set({&targets_key});
        options.snapshot = key_set({&online_key});
        options.timestamp = key_set({&online_key});
        ASSERT_TRUE(Repository::create(other_repo, options, now));
        auto repository = Repository::open(other_repo, now);
        ASSERT_TRUE(repository);
        ASSERT_TRUE(repository->sign(other_root, {}));
        ASSERT_TRUE(repository->sign(targets_key, {}));
        ASSERT_TRUE(repository->publish({&online_key}, {&online_key}));
        ASSERT_TRUE(repository->rotate(tuf::RoleType::root, key_set({&other_next})));
        ASSERT_TRUE(repository->commit());
        ASSERT_TRUE(repository->sign(other_root, {}));
        ASSERT_TRUE(repository->sign(other_next, {}));
        ASSERT_TRUE(repository->publish({&online_key}, {&online_key}));
    }
    const std::string foreign_root =
        bulkhead::testing::read_whole_file(fs::path(other_repo) / "published/metadata/2.root.json");
    TrustedState planted;
    planted.roots = {foreign_root};
    auto verified = verify(bundle_now("1.bundle"), planted);
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(verified->root_version, 1) << "the foreign root was walked to";
    EXPECT_TRUE(verified->accepted.roots.empty());
}

}  // namespace
}  // namespace bulkhead::update
