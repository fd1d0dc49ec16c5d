// Update bundles made from a real TUF repository (published with src/tuf_repo) and verified
// as the core verifies them: against the root it already trusts, through root rotations, and
// refused when anything in them is not what the signed metadata says.
#include "update/verify_bundle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "release_fixture.hpp"

namespace bulkhead::update {
namespace {

namespace fs = std::filesystem;
using tuf_repo::Repository;
using tuf_repo::SigningKey;
using tuf_repo::testing::key_set;
using tuf_repo::testing::new_key;

class VerifyBundle : public testing::ReleaseFixture {};

TEST_F(VerifyBundle, TheNewestReleaseIsVerifiedWithItsPayloads) {
    add_release(first, "one");
    add_release(second, "two");
    publish({&root_key, &targets_key});
    auto verified = make_and_verify("update.bundle");
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(verified->release, second);
    EXPECT_EQ(verified->uki.entry.length, 5000U);
    EXPECT_EQ(verified->verity.entry.length, image_for("two").verity.size());
    EXPECT_EQ(verified->root.entry.length, 3U * 4096);
    EXPECT_EQ(verified->root_version, 1);
    EXPECT_EQ(verified->targets_version, 1);
}

TEST_F(VerifyBundle, AnOlderReleaseWithCurrentMetadataIsRefused) {
    // Release 1 is validly signed, but the metadata lists release 2 as the newest: a bundle
    // carrying release 1's payloads does not match, so an update can never go back.
    add_release(first, "one");
    add_release(second, "two");
    publish({&root_key, &targets_key});
    // The publisher's tool refuses to make it...
    auto refused = bundle_from_published(published(), 1, (dir.path() / "older.bundle").string());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument);
    // ...and a bundle put together by hand, current metadata with release 1's files, is refused.
    const fs::path metadata = fs::path(published()) / "metadata";
    std::vector<bundle::Input> inputs = {{bundle::EntryType::root, (metadata / "1.root.json").string()},
                                         {bundle::EntryType::timestamp, (metadata / "timestamp.json").string()},
                                         {bundle::EntryType::snapshot, (metadata / "1.snapshot.json").string()},
                                         {bundle::EntryType::targets, (metadata / "1.targets.json").string()}};
    for (const auto& [type, suffix] :
         {std::pair{bundle::EntryType::uki, ".bulkhead.efi"}, std::pair{bundle::EntryType::verity, ".root.verity"},
          std::pair{bundle::EntryType::root_image, ".root.erofs"}}) {
        for (const auto& file : fs::directory_iterator(fs::path(published()) / "targets/core/1")) {
            if (file.path().filename().string().ends_with(suffix)) inputs.push_back({type, file.path().string()});
        }
    }
    ASSERT_EQ(inputs.size(), 7U);
    const std::string older = (dir.path() / "older.bundle").string();
    ASSERT_TRUE(bundle::write_bundle(inputs, older));
    auto opened = bundle::Bundle::open(older);
    ASSERT_TRUE(opened) << opened.error().message;
    auto verified = verify_bundle(*opened, trusted_root(), now);
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
    EXPECT_EQ(verified->newest_root,
              bulkhead::testing::read_whole_file(fs::path(published()) / "metadata/2.root.json"));
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
    const std::string other_trusted =
        bulkhead::testing::read_whole_file(fs::path(other_repo) / "published/metadata/1.root.json");
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
