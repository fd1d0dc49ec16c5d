// The curator end to end: packages built by makepkg, a database from repo-add, rebuilder links
// signed by test rebuilder keys, the recipe's .SRCINFO from makepkg --printsrcinfo, and a real
// TUF repository that a TUF client then reads. Each refusal leaves the repository as it was.
#include "curate/curator.hpp"

#include <sys/stat.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "archpkg/repo_db.hpp"
#include "archpkg/sample_packages.hpp"
#include "attest/link.hpp"
#include "base/text.hpp"
#include "json/parse.hpp"
#include "tuf_repo/repo_fixture.hpp"

namespace bulkhead::curate {
namespace {

namespace fs = std::filesystem;
using tuf_repo::testing::key_set;
using tuf_repo::testing::new_key;
using tuf_repo::testing::tree_picture;

// Not a real OpenPGP signature: the curator records and publishes it, it does not verify it.
const std::string kLibSignature = std::string("\x88\x75\x04\x00\x16\x0a\x00\x1d", 8) + "signature of demo-lib";

struct Rebuilder {
    crypto::PrivateKey private_key;
    attest::RebuilderKey key;
};

Rebuilder make_rebuilder() {
    auto private_key = crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519).value();
    auto key = attest::rebuilder_key_from_public_hex(private_key.public_value()).value();
    return {std::move(private_key), std::move(key)};
}

class CuratorTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { world_ = new World(); }
    static void TearDownTestSuite() {
        delete world_;
        world_ = nullptr;
    }

    // Packages, database, recipes and two rebuilders' links, shared by the tests (read-only).
    struct World {
        testing::SamplePackages samples;
        testing::TempDir mirror;
        std::vector<Rebuilder> rebuilders;
        std::filesystem::path shell;

        World() {
            samples.dir.write("shell/PKGBUILD", testing::kShellPkgbuild);
            shell = testing::run_makepkg(samples.dir.path() / "shell");
            std::vector<std::string> argv = {"/usr/bin/repo-add", "--quiet",
                                             (mirror.path() / "extra.db.tar.zst").string()};
            for (const auto& package : {samples.app, samples.lib, shell}) {
                const auto copy = mirror.path() / "pool" / package.filename();
                fs::create_directories(copy.parent_path());
                fs::copy_file(package, copy);
                argv.push_back(copy.string());
            }
            // demo-lib comes with its packager's detached signature, which repo-add embeds.
            mirror.write("pool/" + samples.lib.filename().string() + ".sig", kLibSignature);
            const auto added = testing::run_process(argv);
            EXPECT_EQ(added.exit_code, 0) << added.err;
            // The app's recipe, with the .SRCINFO makepkg itself derives from it.
            const auto [status, srcinfo] = testing::makepkg_in(samples.dir.path() / "app", {"--printsrcinfo"});
            EXPECT_EQ(status, 0) << srcinfo;
            mirror.write("recipes/demo-app/PKGBUILD", testing::kAppPkgbuild);
            mirror.write("recipes/demo-app/.SRCINFO", srcinfo);
            for (int i = 0; i < 3; ++i) rebuilders.push_back(make_rebuilder());
            for (const auto& package : {samples.app, samples.lib, shell}) {
                const auto bytes = testing::read_whole_file(package);
                for (std::size_t i = 0; i < 2; ++i) write_link(i, package.filename().string(), bytes);
            }
        }

        void write_link(std::size_t rebuilder, const std::string& file, const std::string& bytes) const {
            attest::LinkRequest request;
            request.products = {{file,
                                 {crypto::digest(crypto::HashAlgorithm::sha256, bytes),
                                  crypto::digest(crypto::HashAlgorithm::sha512, bytes)}}};
            const auto link = attest::make_link(request, rebuilders[rebuilder].private_key).value();
            mirror.write(
                "attestations/" + file + "/" + attest::link_file_name("rebuild", rebuilders[rebuilder].key.keyid),
                link);
        }
    };

    void SetUp() override {
        tuf_repo::InitOptions options;
        options.root = key_set({&root_key});
        options.targets = key_set({&targets_key});
        options.snapshot = key_set({&snapshot_key});
        options.timestamp = key_set({&timestamp_key});
        ASSERT_TRUE(tuf_repo::Repository::create(repo_dir(), options, tuf::now()));
    }

    [[nodiscard]] CurateRequest request() const {
        CurateRequest request;
        request.app = "demo-app";
        request.snapshot = "2026-11-27";
        request.repositories = {{"extra",
                                 (world_->mirror.path() / "extra.db").string(),
                                 (world_->mirror.path() / "pool").string(),
                                 {"https://mirror.invalid/extra/os/x86_64/", "file:///media/usb/extra/"}}};
        request.recipes_dir = (world_->mirror.path() / "recipes").string();
        request.attestations_dir = (world_->mirror.path() / "attestations").string();
        request.rebuilders.keys = {world_->rebuilders[0].key, world_->rebuilders[1].key, world_->rebuilders[2].key};
        request.rebuilders.threshold = 2;
        return request;
    }

    [[nodiscard]] std::string repo_dir() const { return (scratch_.path() / "repo").string(); }

    Result<void> curate_and_stage(const CurateRequest& request) {
        auto app = curate_app(request);
        if (!app) return fail(app.error());
        auto repository = tuf_repo::Repository::open(repo_dir(), tuf::now());
        if (!repository) return fail(repository.error());
        return stage_app(*repository, request, *app);
    }

    void publish() {
        auto repository = tuf_repo::Repository::open(repo_dir(), tuf::now());
        ASSERT_TRUE(repository);
        for (const auto* key : {&root_key, &targets_key}) ASSERT_TRUE(repository->sign(*key, {}));
        auto published = repository->publish({&snapshot_key}, {&timestamp_key});
        ASSERT_TRUE(published) << published.error().message;
    }

    void expect_refused_unchanged(const CurateRequest& request, ErrorCode code, const std::string& part) {
        const auto before = tree_picture(repo_dir());
        auto result = curate_and_stage(request);
        ASSERT_FALSE(result) << "curated what should be refused (" << part << ")";
        EXPECT_EQ(result.error().code, code) << result.error().message;
        EXPECT_NE(result.error().message.find(part), std::string::npos) << result.error().message;
        EXPECT_EQ(tree_picture(repo_dir()), before);
    }

    static World* world_;
    testing::TempDir scratch_;
    const tuf_repo::SigningKey root_key = new_key();
    const tuf_repo::SigningKey targets_key = new_key();
    const tuf_repo::SigningKey snapshot_key = new_key();
    const tuf_repo::SigningKey timestamp_key = new_key();
};

CuratorTest::World* CuratorTest::world_ = nullptr;

TEST_F(CuratorTest, PublishesAnAppVersionThatATufClientReads) {
    auto app = curate_app(request());
    ASSERT_TRUE(app) << app.error().message;
    EXPECT_EQ(app->version, "1:2.1.0-3");
    ASSERT_EQ(app->packages.size(), 3U);
    EXPECT_EQ(app->packages[0].patches.verdict, PatchVerdict::patchless);  // demo-app: recipe supplied
    EXPECT_EQ(app->packages[1].patches.verdict, PatchVerdict::unknown);    // demo-lib: none
    EXPECT_EQ(app->packages[0].counted_keyids.size(), 2U);
    {
        auto repository = tuf_repo::Repository::open(repo_dir(), tuf::now());
        ASSERT_TRUE(repository);
        ASSERT_TRUE(stage_app(*repository, request(), *app));
    }
    publish();

    tuf_repo::testing::FileClient client(scratch_.path() / "client", fs::path(repo_dir()) / "published",
                                         fs::path(repo_dir()) / "published/metadata/1.root.json");
    auto versions = client.download(versions_target("demo-app"));
    ASSERT_TRUE(versions) << versions.error().message;
    EXPECT_EQ(*versions, R"({"app":"demo-app","versions":["1:2.1.0-3"]})");
    auto manifest_text = client.download(closure_target("demo-app", "1:2.1.0-3"));
    ASSERT_TRUE(manifest_text) << manifest_text.error().message;
    EXPECT_EQ(*manifest_text, app->manifest);
    auto manifest = json::parse(*manifest_text).value();
    EXPECT_EQ(manifest.find("run")->find("command")->as_string(), "/usr/bin/demo-app");
    const auto& packages = manifest.find("packages")->as_array();
    ASSERT_EQ(packages.size(), 3U);
    for (const auto& package : packages) {
        EXPECT_EQ("packages/" + package.find("file")->as_string(), package.find("target")->as_string());
        auto bytes = client.download(package.find("target")->as_string());
        ASSERT_TRUE(bytes) << bytes.error().message;
        EXPECT_EQ(hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, *bytes)),
                  package.find("sha256")->as_string());
    }
    // The attestations are targets too, one per agreeing rebuilder.
    const auto app_file = app->packages[0].file_name;
    auto link = client.download(attest::attestation_target(app_file, world_->rebuilders[0].key.keyid));
    ASSERT_TRUE(link) << link.error().message;
    EXPECT_TRUE(attest::parse_link(*link));

    // The package's custom metadata carries its evidence.
    auto targets = tuf_repo::Repository::open(repo_dir(), tuf::now())->envelope("targets");
    ASSERT_TRUE(targets);
    const auto* custom = targets->signed_part.find("targets")->find(package_target(app_file))->find("custom");
    ASSERT_NE(custom, nullptr);
    const auto* archpkg = custom->find("archpkg");
    EXPECT_EQ(archpkg->find("patchless")->find("verdict")->as_string(), "patchless");
    EXPECT_EQ(archpkg->find("origin")->find("urls")->as_array().front().as_string(),
              "https://mirror.invalid/extra/os/x86_64/" + app_file);
    EXPECT_EQ(archpkg->find("buildinfo")->find("pkgbuild_sha256")->as_string(),
              hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, testing::kAppPkgbuild)));
    EXPECT_EQ(archpkg->find("reproducibility")->find("agreeing")->as_array().size(), 2U);
    EXPECT_TRUE(archpkg->find("upstream_signature")->is_null());
    // demo-lib's signature: in the database and beside the file, the same bytes, published.
    const auto lib_file = world_->samples.lib.filename().string();
    auto database = archpkg::read_repo_database_file((world_->mirror.path() / "extra.db").string());
    ASSERT_TRUE(database);
    const auto listed = std::find_if(database->packages.begin(), database->packages.end(),
                                     [](const auto& package) { return package.name == "demo-lib"; });
    ASSERT_NE(listed, database->packages.end());
    EXPECT_EQ(listed->pgp_signature, kLibSignature);  // repo-add's base64, decoded by us
    const auto* lib_signature = targets->signed_part.find("targets")
                                    ->find(package_target(lib_file))
                                    ->find("custom")
                                    ->find("archpkg")
                                    ->find("upstream_signature");
    ASSERT_TRUE(lib_signature != nullptr && lib_signature->is_object());
    EXPECT_EQ(lib_signature->find("target")->as_string(), signature_target(lib_file));
    EXPECT_FALSE(lib_signature->find("verified")->as_bool());
    auto signature = client.download(signature_target(lib_file));
    ASSERT_TRUE(signature) << signature.error().message;
    EXPECT_EQ(*signature, kLibSignature);
    EXPECT_EQ(lib_signature->find("sha256")->as_string(),
              hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, kLibSignature)));

    // The same version again is a no-op; a different closure under the same version is refused.
    const auto published_picture = tree_picture(repo_dir());
    EXPECT_TRUE(curate_and_stage(request()));
    EXPECT_EQ(tree_picture(repo_dir()), published_picture);
    auto stricter = request();
    stricter.rebuilders.threshold = 1;
    expect_refused_unchanged(stricter, ErrorCode::invalid_argument, "versions are immutable");
}

TEST_F(CuratorTest, RefusesATamperedMirror) {
    auto tampered = request();
    testing::TempDir pool;
    for (const auto& entry : fs::directory_iterator(world_->mirror.path() / "pool")) {
        fs::copy_file(entry.path(), pool.path() / entry.path().filename());
    }
    // The same package, recompressed: a valid package, but not the file the database lists.
    const auto lib = pool.path() / world_->samples.lib.filename();
    testing::write_members(lib, testing::read_members(world_->samples.lib), ARCHIVE_FILTER_ZSTD);
    ASSERT_TRUE(archpkg::read_package_file(lib.string()));
    tampered.repositories.front().package_dir = pool.str();
    // Recompressed, it has another size, the cheap check before any reading.
    expect_refused_unchanged(tampered, ErrorCode::integrity, "extra.db lists");
}

TEST_F(CuratorTest, RefusesASignatureFileThatIsNotTheDatabases) {
    auto swapped = request();
    testing::TempDir pool;
    for (const auto& entry : fs::directory_iterator(world_->mirror.path() / "pool")) {
        fs::copy_file(entry.path(), pool.path() / entry.path().filename());
    }
    pool.write(world_->samples.lib.filename().string() + ".sig", "another signature");
    swapped.repositories.front().package_dir = pool.str();
    expect_refused_unchanged(swapped, ErrorCode::integrity, "is not the signature extra.db lists");
}

TEST_F(CuratorTest, RefusesADatabaseThatMisstatesAPackage) {
    // The mirror's database drops demo-lib's provision: the closure would rest on a lie.
    auto members = testing::read_members(world_->mirror.path() / "extra.db.tar.zst");
    for (auto& member : members) {
        if (member.path() == "demo-lib-1.4-1/desc") {
            const auto at = member.data.find("%PROVIDES%\nlibdemo.so=1-64\n\n");
            ASSERT_NE(at, std::string::npos) << member.data;
            member.data.erase(at, std::string("%PROVIDES%\nlibdemo.so=1-64\n\n").size());
        }
    }
    testing::TempDir mirror;
    testing::write_members(mirror.path() / "extra.db", members, ARCHIVE_FILTER_GZIP);
    auto lying = request();
    lying.repositories.front().database_path = (mirror.path() / "extra.db").string();
    expect_refused_unchanged(lying, ErrorCode::integrity,
                             "extra.db and demo-lib-1.4-1-x86_64.pkg.tar.zst's .PKGINFO "
                             "disagree on provides");
}

TEST_F(CuratorTest, RefusesWithoutTheRebuilderThreshold) {
    auto strict = request();
    strict.rebuilders.threshold = 3;
    expect_refused_unchanged(strict, ErrorCode::not_signed, "only 2 of the required 3 trusted rebuilders reproduced");
    auto strangers = request();
    strangers.rebuilders.keys = {make_rebuilder().key, make_rebuilder().key};
    expect_refused_unchanged(strangers, ErrorCode::not_signed, "no valid signature by a trusted rebuilder key");
    auto none = request();
    none.attestations_dir = scratch_.str();
    expect_refused_unchanged(none, ErrorCode::not_found, "no rebuilder attestations for");
}

TEST_F(CuratorTest, RefusesARecipeThatIsNotTheBuildsOwn) {
    auto other = request();
    testing::TempDir recipes;
    recipes.write("demo-app/PKGBUILD", testing::kAppPkgbuild + "# edited\n");
    recipes.write("demo-app/.SRCINFO", "pkgbase = demo-app\n");
    other.recipes_dir = recipes.str();
    expect_refused_unchanged(other, ErrorCode::integrity, "is not the one the package was built from");
}

TEST_F(CuratorTest, RefusesBadRequests) {
    auto bad_date = request();
    bad_date.snapshot = "27.11.2026";
    expect_refused_unchanged(bad_date, ErrorCode::invalid_argument, "YYYY-MM-DD");
    auto absent = request();
    absent.app = "no-such-app";
    expect_refused_unchanged(absent, ErrorCode::not_found, "no repository has a package named 'no-such-app'");
    auto relative = request();
    relative.command = "bin/demo";
    expect_refused_unchanged(relative, ErrorCode::invalid_argument, "must be an absolute path");
    auto no_policy = request();
    no_policy.rebuilders.keys.clear();
    expect_refused_unchanged(no_policy, ErrorCode::invalid_argument, "trusts no keys");
}

}  // namespace
}  // namespace bulkhead::curate
