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

    std::string disk;
};

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

    // A baseline whose root does not follow from the image's (another repository's) is no
    // baseline: the walk stops there, and the bundle decides alone.
    TrustedState foreign = verified->accepted;
    foreign.roots = {junk};
    foreign.timestamp = "{}";
    EXPECT_TRUE(verify(bundle_now("again.bundle"), foreign));
}

}  // namespace
}  // namespace bulkhead::update
