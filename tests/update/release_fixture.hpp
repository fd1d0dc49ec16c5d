// Shared by the update tests: a real TUF repository (src/tuf_repo) with single keys, core
// releases staged into it with small made-up payloads, and bundles made from its published tree.
#pragma once

#include <fcntl.h>

#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "../tuf_repo/repo_fixture.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "bundle/bundle.hpp"
#include "support/temp_dir.hpp"
#include "update/make_bundle.hpp"
#include "update/verify_bundle.hpp"
#include "verity/hash_tree.hpp"

namespace bulkhead::update::testing {

namespace fs = std::filesystem;
using bulkhead::testing::TempDir;
using tuf_repo::Repository;
using tuf_repo::SigningKey;
using tuf_repo::testing::key_set;
using tuf_repo::testing::new_key;

class ReleaseFixture : public ::testing::Test {
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
        return bulkhead::testing::read_whole_file(fs::path(published()) / "metadata/1.root.json");
    }

    // A made-up root of three blocks and its real dm-verity tree (our own builder, which
    // tests/verity checks against veritysetup), as a release carries them.
    struct RootImage {
        std::string root;
        std::string verity;
        std::string root_hash;  // hex
    };
    static RootImage image_for(const std::string& seed) {
        const TempDir scratch;
        RootImage image;
        image.root = payload(seed + "root", 3 * 4096);
        const fs::path root_file = scratch.write("root", image.root);
        const fs::path hash_file = scratch.write("verity", "");
        const UniqueFd data(::open(root_file.c_str(), O_RDONLY | O_CLOEXEC));
        const UniqueFd hash(::open(hash_file.c_str(), O_RDWR | O_CLOEXEC));
        verity::Parameters parameters;
        parameters.salt = payload(seed, 32);
        auto tree = verity::build_hash_tree(data.get(), image.root.size(), hash.get(), parameters);
        EXPECT_TRUE(tree) << tree.error().message;
        image.verity = bulkhead::testing::read_whole_file(hash_file);
        image.root_hash = tree ? hex_encode(tree->root_hash) : std::string(64, '0');
        return image;
    }

    static std::string payload(const std::string& what, std::size_t size) {
        std::string bytes;
        while (bytes.size() < size) bytes += what;
        bytes.resize(size);
        return bytes;
    }

    // Stages a release whose three parts are made of `seed`, optionally with a wrong custom part.
    void add_release(const CoreRelease& release, const std::string& seed,
                     const std::optional<CoreRelease>& verity_claims = std::nullopt,
                     const std::optional<std::string>& uki = std::nullopt) {
        auto repository = Repository::open(repo(), now);
        ASSERT_TRUE(repository) << repository.error().message;
        const RootImage image = image_for(seed);
        for (const Part part : {Part::uki, Part::verity, Part::root}) {
            const CoreRelease& claims = part == Part::verity && verity_claims ? *verity_claims : release;
            const std::string bytes = part == Part::uki      ? (uki ? *uki : payload(seed + "uki", 5000))
                                      : part == Part::verity ? image.verity
                                                             : image.root;
            auto added = repository->add_target(core_target_path(release.release, part), tuf_repo::TargetBytes{bytes},
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

    const TempDir dir;
    const tuf::UnixSeconds now = tuf::now();
    const SigningKey root_key = new_key();
    const SigningKey targets_key = new_key();
    const SigningKey online_key = new_key();
    // Their root hashes are those of the images add_release(…, "one") and (…, "two") stage.
    const CoreRelease first{1, "1.0", 1, image_for("one").root_hash};
    const CoreRelease second{2, "1.1", 2, image_for("two").root_hash};
};

}  // namespace bulkhead::update::testing
