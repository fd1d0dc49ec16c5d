// The repository end to end: built, signed and published with tuf_repo::Repository, and
// checked by what matters, namely that the real client accepts what was published and
// refuses what it must refuse, and that every refused operation leaves the directory untouched.
#include "tuf_repo/repository.hpp"

#include <gtest/gtest.h>

#include "repo_fixture.hpp"
#include "tuf/delegation.hpp"

namespace bulkhead::tuf_repo {
namespace {

using testing::FileClient;
using testing::key_set;
using testing::new_key;
using testing::tree_picture;
namespace fs = std::filesystem;

class RepositoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        InitOptions options;
        options.root = key_set({&root_a, &root_b}, 2);
        options.targets = key_set({&targets_key});
        options.snapshot = key_set({&snapshot_key});
        options.timestamp = key_set({&timestamp_key});
        auto created = Repository::create(dir(), options, now);
        ASSERT_TRUE(created) << created.error().message;
    }

    [[nodiscard]] std::string dir() const { return (scratch.path() / "repo").string(); }
    [[nodiscard]] fs::path published() const { return scratch.path() / "repo/published"; }

    Repository open(tuf::UnixSeconds at = 0) {
        auto repository = Repository::open(dir(), at == 0 ? now : at);
        EXPECT_TRUE(repository) << repository.error().message;
        return std::move(*repository);
    }

    // Signs everything staged with the given keys and publishes.
    Result<PublishResult> sign_and_publish(std::initializer_list<const SigningKey*> keys, tuf::UnixSeconds at = 0) {
        Repository repository = open(at);
        for (const SigningKey* key : keys) {
            if (auto signed_roles = repository.sign(*key, {}); !signed_roles) return fail(signed_roles.error());
        }
        return repository.publish({&snapshot_key}, {&timestamp_key});
    }

    const bulkhead::testing::TempDir scratch;
    const tuf::UnixSeconds now = tuf::now();
    const SigningKey root_a = new_key();
    const SigningKey root_b = new_key(crypto::SignatureScheme::ecdsa_p256_sha256);
    const SigningKey targets_key = new_key();
    const SigningKey snapshot_key = new_key();
    const SigningKey timestamp_key = new_key();
    const SigningKey curator = new_key(crypto::SignatureScheme::ecdsa_p384_sha384);
};

TEST_F(RepositoryTest, FirstPublishIsUpdatedFromByTheClient) {
    {
        Repository repository = open();
        ASSERT_TRUE(repository.add_target("apps/hello.txt", TargetBytes{"hello"}, std::nullopt, std::nullopt));
        ASSERT_TRUE(repository.commit());
    }
    auto published_now = sign_and_publish({&root_a, &root_b, &targets_key});
    ASSERT_TRUE(published_now) << published_now.error().message;
    EXPECT_EQ(published_now->snapshot_version, 1);
    EXPECT_EQ(published_now->timestamp_version, 1);
    EXPECT_TRUE(fs::exists(published() / "metadata/1.root.json"));
    EXPECT_TRUE(fs::is_empty(scratch.path() / "repo/staged"));

    FileClient client(scratch.path() / "client", published(), published() / "metadata/1.root.json");
    auto content = client.download("apps/hello.txt");
    ASSERT_TRUE(content) << content.error().message;
    EXPECT_EQ(*content, "hello");
}

TEST_F(RepositoryTest, DelegationsBinsAndRootRotationAcrossPublishes) {
    ASSERT_TRUE(sign_and_publish({&root_a, &root_b, &targets_key}));
    FileClient client(scratch.path() / "client", published(), published() / "metadata/1.root.json");

    // A curator role for apps/*, a target in it, and the root rotated to new keys.
    const SigningKey root_c = new_key();
    {
        Repository repository = open();
        DelegationRequest request;
        request.name = "apps";
        request.keys = key_set({&curator});
        request.paths = {"apps/*"};
        request.terminating = true;
        ASSERT_TRUE(repository.delegate(request));
        ASSERT_TRUE(repository.add_target("apps/editor.tar", TargetBytes{"editor v1"}, std::nullopt, "apps"));
        ASSERT_TRUE(repository.rotate(tuf::RoleType::root, key_set({&root_b, &root_c}, 2)));
        ASSERT_TRUE(repository.commit());
    }
    auto second = sign_and_publish({&root_a, &root_b, &root_c, &targets_key, &curator});
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_TRUE(fs::exists(published() / "metadata/2.root.json"));
    auto editor = client.download("apps/editor.tar");
    ASSERT_TRUE(editor) << editor.error().message;
    EXPECT_EQ(*editor, "editor v1");

    // A second delegator level and hash bins below it: "apps" delegates to "tools", which
    // splits into 16 bins.
    {
        Repository repository = open();
        DelegationRequest tools;
        tools.delegator = "apps";
        tools.name = "tools";
        tools.keys = key_set({&curator});
        tools.paths = {"apps/tools-*"};
        ASSERT_TRUE(repository.delegate(tools));
        BinsRequest bins;
        bins.delegator = "tools";
        bins.bits = 4;
        bins.prefix = "tb";
        bins.keys = key_set({&targets_key});
        ASSERT_TRUE(repository.delegate_bins(bins));
        for (int i = 0; i < 20; ++i) {
            const std::string path = "apps/tools-" + std::to_string(i);
            auto added = repository.add_target(path, TargetBytes{"tool " + std::to_string(i)}, std::nullopt,
                                               tuf::succinct_bin_for({{}, 4, "tb"}, tuf::target_path_hash(path)));
            ASSERT_TRUE(added) << added.error().message;
        }
        ASSERT_TRUE(repository.commit());
    }
    auto third = sign_and_publish({&targets_key, &curator});
    ASSERT_TRUE(third) << third.error().message;
    for (const int i : {0, 7, 19}) {
        auto tool = client.download("apps/tools-" + std::to_string(i));
        ASSERT_TRUE(tool) << tool.error().message;
        EXPECT_EQ(*tool, "tool " + std::to_string(i));
    }
    // The old target is still served, from the unchanged "apps" role.
    EXPECT_EQ(*client.download("apps/editor.tar"), "editor v1");
}

TEST_F(RepositoryTest, TargetsGoToTheirHashBinByDefault) {
    {
        Repository repository = open();
        BinsRequest bins;
        bins.bits = 3;
        bins.keys = key_set({&curator});
        ASSERT_TRUE(repository.delegate_bins(bins));
        for (int i = 0; i < 12; ++i) {
            ASSERT_TRUE(repository.add_target("pkg/" + std::to_string(i), TargetBytes{std::to_string(i)}, std::nullopt,
                                              std::nullopt));
        }
        ASSERT_TRUE(repository.commit());
        auto status = repository.status();
        ASSERT_TRUE(status);
        std::size_t listed = 0;
        for (const RoleStatus& role : status->roles) {
            if (role.name.starts_with("bins-")) listed += role.target_count;
            if (role.name == "targets") {
                EXPECT_EQ(role.target_count, 0U);
            }
        }
        EXPECT_EQ(listed, 12U);
        EXPECT_EQ(status->roles.size(), 2U + 8U);
    }
    ASSERT_TRUE(sign_and_publish({&root_a, &root_b, &targets_key, &curator}));
    FileClient client(scratch.path() / "client", published(), published() / "metadata/1.root.json");
    EXPECT_EQ(*client.download("pkg/5"), "5");
}

TEST_F(RepositoryTest, RefusalsChangeNothing) {
    {
        Repository repository = open();
        DelegationRequest request;
        request.name = "apps";
        request.keys = key_set({&curator});
        request.paths = {"apps/*"};
        ASSERT_TRUE(repository.delegate(request));
        ASSERT_TRUE(repository.commit());
    }
    const auto before = tree_picture(dir());
    auto expect_refused = [&](const std::string& what, const std::function<Result<void>(Repository&)>& operation,
                              const std::string& message_part) {
        Repository repository = open();
        auto result = operation(repository);
        ASSERT_FALSE(result) << what;
        EXPECT_NE(result.error().message.find(message_part), std::string::npos)
            << what << ": " << result.error().message;
        EXPECT_EQ(tree_picture(dir()), before) << what;
    };
    expect_refused(
        "unauthorised key",
        [&](Repository& r) -> Result<void> {
            auto signed_roles = r.sign(curator, {"targets"});
            return signed_roles ? Result<void>() : fail(signed_roles.error());
        },
        "is not authorised to sign targets");
    expect_refused(
        "key authorised for no staged role",
        [&](Repository& r) -> Result<void> {
            auto signed_roles = r.sign(snapshot_key, {});
            return signed_roles ? Result<void>() : fail(signed_roles.error());
        },
        "is not authorised for any staged role");
    expect_refused(
        "expiry in the past", [&](Repository& r) { return r.renew("targets", now - 60); }, "is not in the future");
    expect_refused(
        "expiry policy of zero days",
        [&](Repository&) {
            ExpiryPolicy policy;
            return policy.set("timestamp=0");
        },
        "at least 1 day");
    expect_refused(
        "target outside the delegated paths",
        [&](Repository& r) { return r.add_target("docs/readme", TargetBytes{"x"}, std::nullopt, "apps"); },
        "is outside what targets delegates to 'apps'");
    expect_refused(
        "bad target path",
        [&](Repository& r) { return r.add_target("apps/../etc/passwd", TargetBytes{"x"}, std::nullopt, "apps"); },
        "'..' segment");
    expect_refused(
        "publish below threshold",
        [&](Repository& r) -> Result<void> {
            if (auto s = r.sign(root_a, {"root"}); !s) return fail(s.error());
            auto published_now = r.publish({&snapshot_key}, {&timestamp_key});
            return published_now ? Result<void>() : fail(published_now.error());
        },
        "has 1 of the 2 signatures");
    expect_refused(
        "online key that is not the timestamp key",
        [&](Repository& r) -> Result<void> {
            for (const SigningKey* key : {&root_a, &root_b, &targets_key, &curator}) {
                if (auto s = r.sign(*key, {}); !s) return fail(s.error());
            }
            auto published_now = r.publish({&snapshot_key}, {&snapshot_key});
            return published_now ? Result<void>() : fail(published_now.error());
        },
        "is not authorised to sign timestamp");
    expect_refused(
        "role name taken",
        [&](Repository& r) {
            DelegationRequest again;
            again.name = "apps";
            again.keys = key_set({&curator});
            again.paths = {"x/*"};
            return r.delegate(again);
        },
        "exists already");
    expect_refused(
        "unknown role", [&](Repository& r) { return r.renew("nobody", std::nullopt); }, "there is no role 'nobody'");
}

TEST_F(RepositoryTest, StagedRoleThatExpiredBeforePublishIsRefused) {
    {
        Repository repository = open();
        ASSERT_TRUE(repository.renew("targets", now + 3600));
        ASSERT_TRUE(repository.commit());
    }
    {
        Repository repository = open();
        for (const SigningKey* key : {&root_a, &root_b, &targets_key}) ASSERT_TRUE(repository.sign(*key, {}));
        ASSERT_TRUE(repository.commit());
    }
    const auto before = tree_picture(dir());
    auto late = sign_and_publish({}, now + 7200);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, ErrorCode::expired);
    EXPECT_EQ(tree_picture(dir()), before);
}

TEST_F(RepositoryTest, ClientRefusesAnExpiredTimestampAndATamperedTarget) {
    {
        Repository repository = open();
        ASSERT_TRUE(repository.add_target("a.txt", TargetBytes{"genuine"}, std::nullopt, std::nullopt));
        ASSERT_TRUE(repository.commit());
    }
    // Published two days ago: the one-day timestamp has expired since.
    ASSERT_TRUE(sign_and_publish({&root_a, &root_b, &targets_key}, now - 2 * 86400));
    FileClient client(scratch.path() / "client", published(), published() / "metadata/1.root.json");
    auto stale = client.download("a.txt");
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, ErrorCode::expired) << stale.error().message;

    ASSERT_TRUE(open().publish({&snapshot_key}, {&timestamp_key}));  // a fresh timestamp
    ASSERT_EQ(*client.download("a.txt"), "genuine");
    for (const fs::directory_entry& entry : fs::directory_iterator(published() / "targets")) {
        fs::remove(entry.path());  // replace, not modify: the file is a hard link to the blob
        std::ofstream(entry.path()) << "forged!";
    }
    auto forged = client.download("a.txt");
    ASSERT_FALSE(forged);
    EXPECT_EQ(forged.error().code, ErrorCode::integrity) << forged.error().message;
}

TEST_F(RepositoryTest, SignaturesFromAnotherMachineMerge) {
    // The offline machine has its own copy of the repository and signs root there.
    const std::string offline = (scratch.path() / "offline").string();
    fs::copy(dir(), offline, fs::copy_options::recursive);
    {
        auto repository = Repository::open(offline, now);
        ASSERT_TRUE(repository);
        ASSERT_TRUE(repository->sign(root_b, {"root"}));
        ASSERT_TRUE(repository->commit());
    }
    auto carried = read_envelope(bulkhead::testing::read_whole_file(offline + "/staged/root.json"));
    ASSERT_TRUE(carried);
    {
        Repository repository = open();
        ASSERT_TRUE(repository.sign(root_a, {"root"}));
        auto merged = repository.merge_signatures("root", *carried);
        ASSERT_TRUE(merged) << merged.error().message;
        EXPECT_EQ(*merged, 1U);
        ASSERT_TRUE(repository.sign(targets_key, {"targets"}));
        ASSERT_TRUE(repository.commit());
    }
    ASSERT_TRUE(open().publish({&snapshot_key}, {&timestamp_key}));

    // A signature over different metadata, or by a key that is not a root key, is refused.
    Envelope other = *carried;
    other.signed_part.as_object()[0].second = json::Value(std::string("forged"));
    {
        Repository repository = open();
        ASSERT_TRUE(repository.renew("root", std::nullopt));
        EXPECT_FALSE(repository.merge_signatures("root", *carried));
        auto current = repository.envelope("root");
        ASSERT_TRUE(current);
        Envelope by_stranger = *current;
        ASSERT_TRUE(sign(by_stranger, curator));
        auto refused = repository.merge_signatures("root", by_stranger);
        ASSERT_FALSE(refused);
        EXPECT_NE(refused.error().message.find("unknown key"), std::string::npos) << refused.error().message;
    }
}

TEST_F(RepositoryTest, LeftoverStagedFilesFromAnInterruptedPublishAreIgnored) {
    ASSERT_TRUE(sign_and_publish({&root_a, &root_b, &targets_key}));
    // As if the process died after the swap but before staged/ was emptied.
    {
        Repository repository = open();
        auto root = repository.envelope("root");
        ASSERT_TRUE(root);
        std::ofstream(scratch.path() / "repo/staged/root.json") << write_envelope(*root);
    }
    Repository reopened = open();
    auto status = reopened.status();
    ASSERT_TRUE(status);
    EXPECT_FALSE(status->roles.front().staged);
    EXPECT_EQ(status->roles.front().version, 1);
}

TEST_F(RepositoryTest, OneCommandAtATime) {
    Repository first = open();
    auto second = Repository::open(dir(), now);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("another command"), std::string::npos);
}

TEST_F(RepositoryTest, RotatingTargetsKeysNeedsTheNewKeysOnTargets) {
    ASSERT_TRUE(sign_and_publish({&root_a, &root_b, &targets_key}));
    const SigningKey new_targets = new_key();
    {
        Repository repository = open();
        ASSERT_TRUE(repository.rotate(tuf::RoleType::targets, key_set({&new_targets})));
        ASSERT_TRUE(repository.commit());
    }
    auto old_key_only = sign_and_publish({&root_a, &root_b});
    ASSERT_FALSE(old_key_only);
    EXPECT_NE(old_key_only.error().message.find("role targets has 0 of the 1"), std::string::npos)
        << old_key_only.error().message;
    EXPECT_FALSE(open().sign(targets_key, {"targets"}));
    ASSERT_TRUE(sign_and_publish({&root_a, &root_b, &new_targets}));
    FileClient client(scratch.path() / "client", published(), published() / "metadata/1.root.json");
    auto refreshed = client.download("none");
    ASSERT_FALSE(refreshed);
    EXPECT_EQ(refreshed.error().code, ErrorCode::not_found) << refreshed.error().message;
}

TEST_F(RepositoryTest, RootKeysNeverDoubleAsOnlineKeys) {
    InitOptions options;
    options.root = key_set({&root_a});
    options.targets = key_set({&targets_key});
    options.snapshot = key_set({&root_a});
    options.timestamp = key_set({&timestamp_key});
    auto created = Repository::create((scratch.path() / "other").string(), options, now);
    ASSERT_FALSE(created);
    EXPECT_NE(created.error().message.find("online keys live on servers"), std::string::npos);
    EXPECT_FALSE(fs::exists(scratch.path() / "other"));
    Repository repository = open();
    EXPECT_FALSE(repository.rotate(tuf::RoleType::timestamp, key_set({&root_b})));
}

}  // namespace
}  // namespace bulkhead::tuf_repo

namespace bulkhead::tuf_repo {
namespace {

TEST_F(RepositoryTest, RenewUnblocksARoleThatExpiredWhileStaged) {
    {
        Repository repository = open();
        ASSERT_TRUE(repository.renew("targets", now + 3600));
        for (const SigningKey* key : {&root_a, &root_b, &targets_key}) ASSERT_TRUE(repository.sign(*key, {}));
        ASSERT_TRUE(repository.commit());
    }
    const tuf::UnixSeconds later = now + 7200;
    {
        auto repository = Repository::open(dir(), later);
        ASSERT_TRUE(repository);
        ASSERT_FALSE(repository->publish({&snapshot_key}, {&timestamp_key}));
        ASSERT_TRUE(repository->renew("targets", std::nullopt));  // a fresh expiry by the policy
        ASSERT_TRUE(repository->sign(targets_key, {"targets"}));
        auto published_now = repository->publish({&snapshot_key}, {&timestamp_key});
        ASSERT_TRUE(published_now) << published_now.error().message;
    }
}

TEST_F(RepositoryTest, MergingTheSameSignaturesTwiceKeepsThem) {
    const std::string offline = (scratch.path() / "offline").string();
    fs::copy(dir(), offline, fs::copy_options::recursive);
    {
        auto repository = Repository::open(offline, now);
        ASSERT_TRUE(repository);
        ASSERT_TRUE(repository->sign(root_b, {"root"}));
        ASSERT_TRUE(repository->commit());
    }
    auto carried = read_envelope(bulkhead::testing::read_whole_file(offline + "/staged/root.json"));
    ASSERT_TRUE(carried);
    {
        Repository repository = open();
        EXPECT_EQ(*repository.merge_signatures("root", *carried), 1U);
        EXPECT_EQ(*repository.merge_signatures("root", *carried), 0U);
        ASSERT_TRUE(repository.commit());
    }
    auto staged = read_envelope(bulkhead::testing::read_whole_file(dir() + "/staged/root.json"));
    ASSERT_TRUE(staged);
    EXPECT_EQ(staged->signatures.size(), 1U);
}

TEST_F(RepositoryTest, ADamagedBlobIsRewrittenOrRefused) {
    {
        Repository repository = open();
        ASSERT_TRUE(repository.add_target("a.txt", TargetBytes{"full contents"}, std::nullopt, std::nullopt));
        ASSERT_TRUE(repository.commit());
    }
    fs::path blob;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(scratch.path() / "repo/blobs")) {
        if (entry.is_regular_file()) blob = entry.path();
    }
    ASSERT_FALSE(blob.empty());
    fs::resize_file(blob, 0);  // as a crash before the data reached the disk could leave it
    auto refused = sign_and_publish({&root_a, &root_b, &targets_key});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("missing or damaged"), std::string::npos) << refused.error().message;
    {
        Repository repository = open();
        ASSERT_TRUE(repository.add_target("a.txt", TargetBytes{"full contents"}, std::nullopt, std::nullopt));
        ASSERT_TRUE(repository.commit());
    }
    EXPECT_EQ(fs::file_size(blob), 13U);
    ASSERT_TRUE(sign_and_publish({&root_a, &root_b, &targets_key}));
}

TEST_F(RepositoryTest, InputsThatCouldNeverBeServedOrSignedAreRefused) {
    Repository repository = open();
    auto fraction = json::Value(json::Object{{"v", json::Value(json::NumberText{"1.5"})}});
    auto unsignable = repository.add_target("a.txt", TargetBytes{"x"}, fraction, std::nullopt);
    ASSERT_FALSE(unsignable);
    EXPECT_NE(unsignable.error().message.find("whole numbers only"), std::string::npos);
    for (const std::string path : {"a#b", "a?b", "100%", "a\\b"}) {
        auto special = repository.add_target(path, TargetBytes{"x"}, std::nullopt, std::nullopt);
        ASSERT_FALSE(special) << path;
        EXPECT_NE(special.error().message.find("treat specially"), std::string::npos) << special.error().message;
    }
}

TEST_F(RepositoryTest, APathAlreadyListedHigherUpIsNotAddedBelow) {
    Repository repository = open();
    ASSERT_TRUE(repository.add_target("apps/x", TargetBytes{"v1"}, std::nullopt, "targets"));
    DelegationRequest request;
    request.name = "apps";
    request.keys = key_set({&curator});
    request.paths = {"apps/*"};
    ASSERT_TRUE(repository.delegate(request));
    auto shadowed = repository.add_target("apps/x", TargetBytes{"v2"}, std::nullopt, std::nullopt);
    ASSERT_FALSE(shadowed);
    EXPECT_NE(shadowed.error().message.find("targets already lists 'apps/x'"), std::string::npos)
        << shadowed.error().message;
}

TEST_F(RepositoryTest, HashBinsDoNotDelegateFurther) {
    Repository repository = open();
    BinsRequest bins;
    bins.bits = 2;
    bins.keys = key_set({&curator});
    ASSERT_TRUE(repository.delegate_bins(bins));
    DelegationRequest below;
    below.delegator = "bins-0";
    below.name = "deeper";
    below.keys = key_set({&curator});
    below.paths = {"*"};
    auto refused = repository.delegate(below);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("is a hash bin"), std::string::npos) << refused.error().message;
}

TEST_F(RepositoryTest, OneKeyUnderTwoKeyidsIsStillOneKey) {
    // The same Ed25519 key with its hex in upper case has another keyid.
    KeyIdentity shouted = snapshot_key.identity;
    json::Object object = shouted.public_object.as_object();
    for (json::Member& member : object) {
        if (member.first != "keyval") continue;
        std::string value = member.second.find("public")->as_string();
        for (char& c : value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        member.second = json::Value(json::Object{{"public", json::Value(value)}});
    }
    shouted.public_object = json::Value(object);
    shouted.keyid = *tuf::compute_keyid(shouted.public_object);
    ASSERT_NE(shouted.keyid, snapshot_key.identity.keyid);

    InitOptions options;
    options.root = {{shouted}, 1};
    options.targets = key_set({&targets_key});
    options.snapshot = key_set({&snapshot_key});
    options.timestamp = key_set({&timestamp_key});
    auto created = Repository::create((scratch.path() / "other").string(), options, now);
    ASSERT_FALSE(created);
    EXPECT_NE(created.error().message.find("online keys live on servers"), std::string::npos);
    options.root = {{root_a.identity, shouted}, 1};
    options.snapshot = key_set({&timestamp_key});
    options.targets = {{snapshot_key.identity, shouted}, 1};
    created = Repository::create((scratch.path() / "other").string(), options, now);
    ASSERT_FALSE(created);
    EXPECT_NE(created.error().message.find("is given twice"), std::string::npos) << created.error().message;
}

TEST_F(RepositoryTest, APlantedRootInThePublishedTreeIsFound) {
    ASSERT_TRUE(sign_and_publish({&root_a, &root_b, &targets_key}));
    // A root v2 signed by a stranger's key, placed by whoever can write to published/.
    const SigningKey stranger = new_key();
    Envelope planted{*read_envelope(bulkhead::testing::read_whole_file(published() / "metadata/1.root.json"))};
    planted.signed_part.as_object()[6].second = json::Value(std::int64_t{2});  // "version"
    planted.signatures.clear();
    ASSERT_TRUE(sign(planted, stranger));
    std::ofstream(published() / "metadata/2.root.json") << write_envelope(planted);
    auto opened = Repository::open(dir(), now);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, ErrorCode::integrity) << opened.error().message;
}

}  // namespace
}  // namespace bulkhead::tuf_repo
