// The app client against a real TUF repository that the curator filled from makepkg packages:
// the newest version or a named older one, unpacked into a tree; refusals for the client's own
// rebuilder and patch policies, a tampered mirror, unknown apps and versions; fallback from a
// tampered mirror to the repository; a download through a SOCKS5h proxy (an onion name only the
// proxy resolves); file:// mirrors throughout.
#include "appstore/client.hpp"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "archpkg/sample_packages.hpp"
#include "attest/link.hpp"
#include "curate/curator.hpp"
#include "support/http_server.hpp"
#include "support/socks5_server.hpp"
#include "tuf_repo/repo_fixture.hpp"

namespace bulkhead::appstore {
namespace {

namespace fs = std::filesystem;
using tuf_repo::testing::key_set;
using tuf_repo::testing::new_key;

const std::string kV1 = "1:2.1.0-3";
const std::string kV2 = "1:2.2.0-1";

std::string with_version_2(std::string pkgbuild) {
    pkgbuild.replace(pkgbuild.find("pkgver=2.1.0"), 12, "pkgver=2.2.0");
    pkgbuild.replace(pkgbuild.find("pkgrel=3"), 8, "pkgrel=1");
    const auto end = pkgbuild.rfind('}');
    return pkgbuild.insert(end, "  echo 2.2.0 > \"$pkgdir/usr/share/demo/version\"\n");
}

const std::string kPatchedPkgbuild = R"(pkgname=demo-patched
pkgver=1.0
pkgrel=1
arch=('x86_64')
depends=('demo-lib')
source=('fix.patch')
sha256sums=('SKIP')
prepare() {
  patch -Np1 -i "$srcdir/fix.patch" || true
}
package() {
  install -d "$pkgdir/usr/bin"
  printf '#!/bin/false\n' > "$pkgdir/usr/bin/demo-patched"
}
)";

struct Rebuilder {
    crypto::PrivateKey private_key;
    attest::RebuilderKey key;
};

// Everything the tests share: packages, two snapshots, recipes, links, and the published repository.
struct World {
    testing::TempDir dir;
    std::vector<Rebuilder> rebuilders;
    tuf_repo::SigningKey root_key = new_key();
    tuf_repo::SigningKey targets_key = new_key();
    tuf_repo::SigningKey snapshot_key = new_key();
    tuf_repo::SigningKey timestamp_key = new_key();

    [[nodiscard]] fs::path path(const std::string& name) const { return dir.path() / name; }

    fs::path build(const std::string& name, const std::string& pkgbuild,
                   const std::vector<std::pair<std::string, std::string>>& extra = {}) {
        dir.write("build/" + name + "/PKGBUILD", pkgbuild);
        for (const auto& [file, contents] : extra) dir.write("build/" + name + "/" + file, contents);
        const auto package = testing::run_makepkg(path("build/" + name));
        const auto [status, srcinfo] = testing::makepkg_in(path("build/" + name), {"--printsrcinfo"});
        EXPECT_EQ(status, 0) << srcinfo;
        const auto base = name.substr(0, name.find('@'));
        dir.write("recipes-" + name + "/" + base + "/PKGBUILD", pkgbuild);
        dir.write("recipes-" + name + "/" + base + "/.SRCINFO", srcinfo);
        fs::create_directories(path("pool"));
        fs::create_directories(path("public"));
        fs::copy_file(package, path("pool") / package.filename(), fs::copy_options::overwrite_existing);
        fs::copy_file(package, path("public") / package.filename(), fs::copy_options::overwrite_existing);
        const auto bytes = testing::read_whole_file(package);
        for (std::size_t i = 0; i < 2; ++i) {
            attest::LinkRequest request;
            request.products = {{package.filename().string(),
                                 {crypto::digest(crypto::HashAlgorithm::sha256, bytes),
                                  crypto::digest(crypto::HashAlgorithm::sha512, bytes)}}};
            dir.write("links/" + package.filename().string() + "/" +
                          attest::link_file_name("rebuild", rebuilders[i].key.keyid),
                      attest::make_link(request, rebuilders[i].private_key).value());
        }
        return path("pool") / package.filename();
    }

    // One snapshot: a database of `packages` and one recipes directory merged from theirs.
    std::string snapshot(const std::string& name, const std::vector<std::pair<std::string, fs::path>>& packages) {
        std::vector<std::string> argv = {"/usr/bin/repo-add", "--quiet", path(name + "/extra.db.tar.zst").string()};
        fs::create_directories(path(name));
        for (const auto& [recipe, package] : packages) {
            argv.push_back(package.string());
            fs::copy(path("recipes-" + recipe), path(name + "-recipes"), fs::copy_options::recursive);
        }
        const auto added = testing::run_process(argv);
        EXPECT_EQ(added.exit_code, 0) << added.err;
        return path(name + "/extra.db").string();
    }

    void curate(const std::string& app, const std::string& snapshot_name, const std::string& database) {
        curate::CurateRequest request;
        request.app = app;
        request.snapshot = "2026-11-27";
        request.repositories = {
            {"extra", database, path("pool").string(), {"file://" + path("public").string() + "/"}}};
        request.recipes_dir = path(snapshot_name + "-recipes").string();
        request.attestations_dir = path("links").string();
        request.rebuilders.keys = {rebuilders[0].key, rebuilders[1].key, rebuilders[2].key};
        request.rebuilders.threshold = 2;
        auto curated = curate::curate_app(request);
        ASSERT_TRUE(curated) << curated.error().message;
        auto repository = tuf_repo::Repository::open(path("repo").string(), tuf::now());
        ASSERT_TRUE(repository);
        ASSERT_TRUE(curate::stage_app(*repository, request, *curated));
    }

    World() {
        ::chmod(dir.path().c_str(), 0755);
        for (int i = 0; i < 3; ++i) {
            auto key = crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519).value();
            auto public_key = attest::rebuilder_key_from_public_hex(key.public_value()).value();
            rebuilders.push_back({std::move(key), std::move(public_key)});
        }
        const auto app1 = build("demo-app", testing::kAppPkgbuild, {{"demo.install", testing::kAppInstallScript}});
        const auto app2 =
            build("demo-app@2", with_version_2(testing::kAppPkgbuild), {{"demo.install", testing::kAppInstallScript}});
        const auto lib = build("demo-lib", testing::kLibPkgbuild);
        const auto shell = build("demo-shell", testing::kShellPkgbuild);
        const auto patched = build("demo-patched", kPatchedPkgbuild, {{"fix.patch", "--- a\n+++ b\n"}});
        const auto snap1 = snapshot(
            "snap1", {{"demo-app", app1}, {"demo-lib", lib}, {"demo-shell", shell}, {"demo-patched", patched}});
        const auto snap2 = snapshot("snap2", {{"demo-app@2", app2}, {"demo-lib", lib}, {"demo-shell", shell}});

        tuf_repo::InitOptions options;
        options.root = key_set({&root_key});
        options.targets = key_set({&targets_key});
        options.snapshot = key_set({&snapshot_key});
        options.timestamp = key_set({&timestamp_key});
        EXPECT_TRUE(tuf_repo::Repository::create(path("repo").string(), options, tuf::now()));
        curate("demo-app", "snap1", snap1);
        curate("demo-patched", "snap1", snap1);
        curate("demo-app", "snap2", snap2);
        auto repository = tuf_repo::Repository::open(path("repo").string(), tuf::now());
        EXPECT_TRUE(repository);
        for (const auto* key : {&root_key, &targets_key}) EXPECT_TRUE(repository->sign(*key, {}));
        auto published = repository->publish({&snapshot_key}, {&timestamp_key});
        EXPECT_TRUE(published) << published.error().message;
    }
};

class AppStoreTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { world_ = new World(); }
    static void TearDownTestSuite() {
        delete world_;
        world_ = nullptr;
    }

    // A fresh client that trusts the repository's first root and two of the three rebuilders.
    [[nodiscard]] ClientConfig config() const {
        const auto client = scratch_.path() / ("client" + std::to_string(++clients_));
        fs::create_directories(client / "metadata");
        fs::copy_file(world_->path("repo/published/metadata/1.root.json"), client / "metadata/root.json");
        ClientConfig config;
        config.metadata_dir = (client / "metadata").string();
        config.metadata_url = "file://" + world_->path("repo/published/metadata/").string();
        config.targets_url = "file://" + world_->path("repo/published/targets/").string();
        config.cache_dir = (client / "cache").string();
        config.rebuilders.keys = {world_->rebuilders[0].key, world_->rebuilders[1].key, world_->rebuilders[2].key};
        config.rebuilders.threshold = 2;
        return config;
    }

    Result<PreparedApp> prepare(const ClientConfig& config, const std::string& app,
                                const std::optional<std::string>& version, fetch::Fetcher& fetcher) {
        const auto tree = scratch_.path() / ("tree" + std::to_string(++trees_));
        fs::create_directories(tree);
        fs::permissions(tree, fs::perms::owner_all, fs::perm_options::replace);
        last_tree_ = tree;
        AppStore store(config, fetcher);
        return store.prepare(app, version, tree.string());
    }
    Result<PreparedApp> prepare(const ClientConfig& config, const std::string& app,
                                const std::optional<std::string>& version = std::nullopt) {
        return prepare(config, app, version, *fetcher_);
    }

    static World* world_;
    testing::TempDir scratch_;
    mutable int clients_ = 0;
    int trees_ = 0;
    fs::path last_tree_;
    std::unique_ptr<fetch::Fetcher> fetcher_ = fetch::make_fetcher();
};

World* AppStoreTest::world_ = nullptr;

TEST_F(AppStoreTest, ListsVersionsAndUnpacksTheNewest) {
    AppStore store(config(), *fetcher_);
    auto versions = store.versions("demo-app");
    ASSERT_TRUE(versions) << versions.error().message;
    EXPECT_EQ(*versions, (std::vector<std::string>{kV1, kV2}));

    auto prepared = prepare(config(), "demo-app");
    ASSERT_TRUE(prepared) << prepared.error().message;
    EXPECT_EQ(prepared->manifest.version, kV2);
    EXPECT_EQ(prepared->manifest.command, "/usr/bin/demo-app");
    EXPECT_TRUE(prepared->warnings.empty());
    EXPECT_EQ(testing::read_whole_file(last_tree_ / "usr/share/demo/version"), "2.2.0\n");
    EXPECT_TRUE(fs::exists(last_tree_ / "usr/lib/libdemo.so.1"));  // demo-lib
    EXPECT_TRUE(fs::exists(last_tree_ / "usr/bin/demo-shell"));    // the provider of sh
    EXPECT_EQ(fs::read_symlink(last_tree_ / "usr/bin/demo-symlink"), "demo");
}

TEST_F(AppStoreTest, InstallsAnOlderVersionAndBackAgain) {
    auto older = prepare(config(), "demo-app", kV1);
    ASSERT_TRUE(older) << older.error().message;
    EXPECT_EQ(older->manifest.version, kV1);
    EXPECT_FALSE(fs::exists(last_tree_ / "usr/share/demo/version"));
    auto newest = prepare(config(), "demo-app");
    ASSERT_TRUE(newest) << newest.error().message;
    EXPECT_TRUE(fs::exists(last_tree_ / "usr/share/demo/version"));
    auto absent = prepare(config(), "demo-app", "1:9.9-1");
    ASSERT_FALSE(absent);
    EXPECT_EQ(absent.error().code, ErrorCode::not_found);
    EXPECT_NE(absent.error().message.find("is not offered (versions: " + kV1 + ", " + kV2 + ")"), std::string::npos)
        << absent.error().message;
    auto unknown = prepare(config(), "no-such-app");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("no app named 'no-such-app'"), std::string::npos);
}

TEST_F(AppStoreTest, AppliesThePatchPolicy) {
    auto refused = prepare(config(), "demo-patched");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("demo-patched 1.0-1 is patched"), std::string::npos)
        << refused.error().message;
    EXPECT_TRUE(fs::is_empty(last_tree_));
    auto warn = config();
    warn.patches = PatchPolicy::warn;
    auto warned = prepare(warn, "demo-patched");
    ASSERT_TRUE(warned) << warned.error().message;
    ASSERT_EQ(warned->warnings.size(), 1U);
    EXPECT_NE(warned->warnings[0].find("demo-patched 1.0-1 is patched"), std::string::npos);
}

TEST_F(AppStoreTest, AppliesTheClientsOwnRebuilderPolicy) {
    auto all_three = config();
    all_three.rebuilders.threshold = 3;
    auto refused = prepare(all_three, "demo-app");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::not_signed);
    EXPECT_NE(refused.error().message.find("only 2 of the required 3 trusted rebuilders"), std::string::npos);
    EXPECT_TRUE(fs::is_empty(last_tree_));
    auto strangers = config();
    auto stranger = crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519).value();
    strangers.rebuilders.keys = {world_->rebuilders[0].key,
                                 attest::rebuilder_key_from_public_hex(stranger.public_value()).value()};
    auto untrusted = prepare(strangers, "demo-app");
    ASSERT_FALSE(untrusted);
    EXPECT_NE(untrusted.error().message.find("no valid signature by a trusted rebuilder key"), std::string::npos)
        << untrusted.error().message;
}

TEST_F(AppStoreTest, RefusesWhenATrustedRebuilderDisagrees) {
    // A copy of the repository in which the third rebuilder (trusted by the client) reports other
    // hashes for demo-lib: its link is published and named among the rebuilders of the file.
    fs::copy(world_->path("repo"), scratch_.path() / "repo", fs::copy_options::recursive);
    auto repository = tuf_repo::Repository::open((scratch_.path() / "repo").string(), tuf::now());
    ASSERT_TRUE(repository);
    const std::string file = "demo-lib-1.4-1-x86_64.pkg.tar.zst";
    auto envelope = repository->envelope("targets");
    ASSERT_TRUE(envelope);
    json::Value custom = *envelope->signed_part.find("targets")->find("packages/" + file)->find("custom");
    auto& reproducibility = custom.as_object().front().second.as_object();
    for (auto& [key, value] : reproducibility) {
        if (key == "reproducibility") {
            for (auto& [field, list] : value.as_object()) {
                if (field == "agreeing") list.as_array().emplace_back(world_->rebuilders[2].key.keyid);
            }
        }
    }
    attest::LinkRequest request;
    request.products = {{file,
                         {crypto::digest(crypto::HashAlgorithm::sha256, "another build"),
                          crypto::digest(crypto::HashAlgorithm::sha512, "another build")}}};
    ASSERT_TRUE(repository->add_target("packages/" + file,
                                       tuf_repo::TargetFilePath{world_->path("pool/" + file).string()}, custom,
                                       std::string("targets")));
    ASSERT_TRUE(repository->add_target(
        attest::attestation_target(file, world_->rebuilders[2].key.keyid),
        tuf_repo::TargetBytes{attest::make_link(request, world_->rebuilders[2].private_key).value()}, std::nullopt,
        std::string("targets")));
    ASSERT_TRUE(repository->commit());
    ASSERT_TRUE(repository->sign(world_->targets_key, {}));
    auto published = repository->publish({&world_->snapshot_key}, {&world_->timestamp_key});
    ASSERT_TRUE(published) << published.error().message;

    auto disagreeing = config();
    disagreeing.metadata_url = "file://" + (scratch_.path() / "repo/published/metadata/").string();
    disagreeing.targets_url = "file://" + (scratch_.path() / "repo/published/targets/").string();
    disagreeing.use_package_mirrors = false;
    auto refused = prepare(disagreeing, "demo-app");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::integrity) << refused.error().message;
    EXPECT_NE(refused.error().message.find("disagree"), std::string::npos) << refused.error().message;
    EXPECT_TRUE(fs::is_empty(last_tree_));
}

TEST_F(AppStoreTest, RefusesATamperedMirrorAndFallsBackToTheRepository) {
    const auto lib_file = world_->path("public/demo-lib-1.4-1-x86_64.pkg.tar.zst");
    const auto genuine = testing::read_whole_file(lib_file);
    auto tampered = genuine;
    tampered[tampered.size() / 2] = static_cast<char>(tampered[tampered.size() / 2] ^ 0x20);
    world_->dir.write("public/demo-lib-1.4-1-x86_64.pkg.tar.zst", tampered);

    // The repository's own copy, tampered the same way: no source has the genuine bytes.
    fs::copy(world_->path("repo/published/targets"), scratch_.path() / "targets", fs::copy_options::recursive);
    for (const auto& entry : fs::recursive_directory_iterator(scratch_.path() / "targets")) {
        if (entry.path().filename().string().ends_with(".demo-lib-1.4-1-x86_64.pkg.tar.zst")) {
            scratch_.write(entry.path().lexically_relative(scratch_.path()).string(), tampered);
        }
    }
    auto only_mirror = config();
    only_mirror.targets_url = "file://" + scratch_.str() + "/targets/";
    auto refused = prepare(only_mirror, "demo-app");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::integrity);
    EXPECT_NE(refused.error().message.find("no mirror delivered demo-lib-1.4-1-x86_64.pkg.tar.zst"), std::string::npos)
        << refused.error().message;
    auto fallback = prepare(config(), "demo-app");
    world_->dir.write("public/demo-lib-1.4-1-x86_64.pkg.tar.zst", genuine);
    ASSERT_TRUE(fallback) << fallback.error().message;
    EXPECT_TRUE(fs::exists(last_tree_ / "usr/lib/libdemo.so.1"));
}

TEST_F(AppStoreTest, InstallsThroughASocks5hProxy) {
    const fs::path published = world_->path("repo/published");
    testing::HttpServer server([published](const std::string& request) -> std::optional<std::string> {
        if (request.find("..") != std::string::npos || request.empty() || request[0] != '/') return std::nullopt;
        std::string decoded;
        for (std::size_t i = 0; i < request.size(); ++i) {
            if (request[i] == '%' && i + 2 < request.size()) {
                decoded += static_cast<char>(std::stoi(request.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                decoded += request[i];
            }
        }
        const auto file = published / decoded.substr(1);
        if (!fs::is_regular_file(file)) return std::nullopt;
        return testing::read_whole_file(file);
    });
    const int http_port = std::stoi(server.url().substr(server.url().rfind(':') + 1));
    testing::Socks5Server proxy(http_port);
    fetch::HttpOptions options;
    options.proxy = "socks5h://127.0.0.1:" + std::to_string(proxy.port());
    const auto fetcher = fetch::make_fetcher(options);
    const std::string onion = "bulkheadrepoexampleexampleexampleexampleexampleexampleexam.onion";
    auto through_proxy = config();
    through_proxy.metadata_url = "http://" + onion + "/metadata/";
    through_proxy.targets_url = "http://" + onion + "/targets/";
    through_proxy.use_package_mirrors = false;
    auto prepared = prepare(through_proxy, "demo-app", std::nullopt, *fetcher);
    ASSERT_TRUE(prepared) << prepared.error().message;
    EXPECT_TRUE(fs::exists(last_tree_ / "usr/share/demo/version"));
    ASSERT_FALSE(proxy.destinations().empty());
    for (const auto& destination : proxy.destinations()) EXPECT_EQ(destination, "domain:" + onion);
}

}  // namespace
}  // namespace bulkhead::appstore
