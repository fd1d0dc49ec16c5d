// Update bundles made from a real TUF repository (published with src/tuf_repo) and verified
// as the core verifies them: against the root it already trusts, through root rotations, and
// refused when anything in them is not what the signed metadata says.
#include "update/verify_bundle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "../tuf_repo/repo_fixture.hpp"
#include "support/temp_dir.hpp"
#include "update/make_bundle.hpp"

namespace bulkhead::update {
namespace {

namespace fs = std::filesystem;
using tuf_repo::Repository;
using tuf_repo::SigningKey;
using tuf_repo::testing::key_set;
using tuf_repo::testing::new_key;

class VerifyBundle : public ::testing::Test {
protected:
    void SetUp() override {
        tuf_repo::InitOptions options;
        options.root = key_set({&root_key});
        options.targets = key_set({&targets_key});
        options.snapshot = key_set({&online_key});
        options.timestamp = key_set({&online_key});
        auto created = Repository::create(repo(), options, now);
        ASSERT_TRUE(created) << created.error().message;
    }

    [[nodiscard]] std::string repo() const { return (dir.path() / "repo").string(); }
    [[nodiscard]] std::string published() const { return repo() + "/published"; }
    [[nodiscard]] std::string trusted_root() const {
        return testing::read_whole_file(fs::path(published()) / "metadata/1.root.json");
    }

    static std::string payload(const std::string& what, std::size_t size) {
        std::string bytes;
        while (bytes.size() < size) bytes += what;
        bytes.resize(size);
        return bytes;
    }

    // Stages a release whose three parts are made of `seed`, optionally with a wrong custom part.
    void add_release(const CoreRelease& release, const std::string& seed,
                     const std::optional<CoreRelease>& verity_claims = std::nullopt) {
        auto repository = Repository::open(repo(), now);
        ASSERT_TRUE(repository) << repository.error().message;
        for (const auto& [part, size] :
             {std::pair{Part::uki, 5000}, std::pair{Part::verity, 4096}, std::pair{Part::root, 12289}}) {
            const CoreRelease& claims = part == Part::verity && verity_claims ? *verity_claims : release;
            auto added = repository->add_target(
                core_target_path(release.release, part),
                tuf_repo::TargetBytes{payload(seed + std::string(part_name(part)), static_cast<std::size_t>(size))},
                core_custom(claims, part), std::nullopt);
            ASSERT_TRUE(added) << added.error().message;
        }
        ASSERT_TRUE(repository->commit());
    }

    void publish(std::initializer_list<const SigningKey*> keys) {
        auto repository = Repository::open(repo(), now);
        ASSERT_TRUE(repository) << repository.error().message;
        for (const SigningKey* key : keys) ASSERT_TRUE(repository->sign(*key, {}));
        auto published_now = repository->publish({&online_key}, {&online_key});
        ASSERT_TRUE(published_now) << published_now.error().message;
    }

    Result<VerifiedBundle> make_and_verify(const std::string& name, std::int64_t release = 0, tuf::UnixSeconds at = 0) {
        const std::string out = (dir.path() / name).string();
        auto made = bundle_from_published(published(), release, out);
        if (!made) return fail(made.error());
        auto opened = bundle::Bundle::open(out);
        if (!opened) return fail(opened.error());
        return verify_bundle(*opened, trusted_root(), at == 0 ? now : at);
    }

    const testing::TempDir dir;
    const tuf::UnixSeconds now = tuf::now();
    const SigningKey root_key = new_key();
    const SigningKey targets_key = new_key();
    const SigningKey online_key = new_key();
    const CoreRelease first{1, "1.0", 1, std::string(64, '1')};
    const CoreRelease second{2, "1.1", 2, std::string(64, '2')};
};

TEST_F(VerifyBundle, TheNewestReleaseIsVerifiedWithItsPayloads) {
    add_release(first, "one");
    add_release(second, "two");
    publish({&root_key, &targets_key});
    auto verified = make_and_verify("update.bundle");
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(verified->release, second);
    EXPECT_EQ(verified->uki.entry.length, 5000U);
    EXPECT_EQ(verified->verity.entry.length, 4096U);
    EXPECT_EQ(verified->root.entry.length, 12289U);
    EXPECT_EQ(verified->root_version, 1);
    EXPECT_EQ(verified->targets_version, 1);
}

TEST_F(VerifyBundle, AnOlderReleaseWithCurrentMetadataIsRefused) {
    // Release 1 is validly signed, but the metadata lists release 2 as the newest: a bundle
    // carrying release 1's payloads does not match, so an update can never go back.
    add_release(first, "one");
    add_release(second, "two");
    publish({&root_key, &targets_key});
    auto verified = make_and_verify("older.bundle", 1);
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().code, ErrorCode::integrity) << verified.error().message;
}

TEST_F(VerifyBundle, NewerRootsInTheBundleAreWalkedFromTheTrustedOne) {
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
    auto verified = make_and_verify("rotated.bundle");
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(verified->root_version, 2);
    EXPECT_EQ(verified->newest_root, testing::read_whole_file(fs::path(published()) / "metadata/2.root.json"));
}

TEST_F(VerifyBundle, ATamperedPayloadIsRefused) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    const std::string out = (dir.path() / "tampered.bundle").string();
    ASSERT_TRUE(bundle_from_published(published(), 0, out));
    {
        auto opened = bundle::Bundle::open(out);
        ASSERT_TRUE(opened);
        auto root = opened->layout().find(bundle::EntryType::root_image);
        ASSERT_TRUE(root);
        const int fd = ::open(out.c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        const char byte = 'X';
        ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(root->offset + root->length - 1)), 1);
        ::close(fd);
    }
    auto opened = bundle::Bundle::open(out);
    ASSERT_TRUE(opened) << opened.error().message;
    auto verified = verify_bundle(*opened, trusted_root(), now);
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().code, ErrorCode::integrity);
    EXPECT_NE(verified.error().message.find("core release 1 root"), std::string::npos) << verified.error().message;
}

TEST_F(VerifyBundle, AnotherRepositorysBundleIsNotTrusted) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    const std::string out = (dir.path() / "foreign.bundle").string();
    ASSERT_TRUE(bundle_from_published(published(), 0, out));
    // A core that trusts a different repository's root (same shape, other keys).
    const SigningKey other_root = new_key();
    const SigningKey other_targets = new_key();
    tuf_repo::InitOptions options;
    options.root = key_set({&other_root});
    options.targets = key_set({&other_targets});
    options.snapshot = key_set({&online_key});
    options.timestamp = key_set({&online_key});
    const std::string other_repo = (dir.path() / "other").string();
    ASSERT_TRUE(Repository::create(other_repo, options, now));
    {
        auto repository = Repository::open(other_repo, now);
        ASSERT_TRUE(repository);
        ASSERT_TRUE(repository->sign(other_root, {}));
        ASSERT_TRUE(repository->sign(other_targets, {}));
        ASSERT_TRUE(repository->publish({&online_key}, {&online_key}));
    }
    const std::string other_trusted = testing::read_whole_file(fs::path(other_repo) / "published/metadata/1.root.json");
    auto opened = bundle::Bundle::open(out);
    ASSERT_TRUE(opened);
    auto verified = verify_bundle(*opened, other_trusted, now);
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().code, ErrorCode::not_signed) << verified.error().message;
}

TEST_F(VerifyBundle, ExpiredMetadataIsRefused) {
    add_release(first, "one");
    publish({&root_key, &targets_key});
    auto verified = make_and_verify("late.bundle", 0, now + 400LL * 24 * 3600);
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().code, ErrorCode::expired) << verified.error().message;
}

TEST_F(VerifyBundle, PartsThatDescribeDifferentImagesAreRefused) {
    CoreRelease other_hash = first;
    other_hash.root_hash = std::string(64, 'f');
    add_release(first, "one", other_hash);
    publish({&root_key, &targets_key});
    auto verified = make_and_verify("mixed.bundle");
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().code, ErrorCode::integrity) << verified.error().message;
}

TEST_F(VerifyBundle, ARepositoryWithoutCoreReleasesMakesNoBundle) {
    publish({&root_key, &targets_key});
    auto made = bundle_from_published(published(), 0, (dir.path() / "none.bundle").string());
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().code, ErrorCode::not_found);
    EXPECT_FALSE(fs::exists(dir.path() / "none.bundle"));
}

}  // namespace
}  // namespace bulkhead::update
