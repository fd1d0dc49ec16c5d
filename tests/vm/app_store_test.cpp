// The app store end to end, as a user meets it: a curator curates two versions of an app whose
// closure has three makepkg packages (a shell script app, its data, and busybox), signs and
// publishes them; `bulkhead app versions`, `app install` (the older version, named), `app update`
// (to the newest, keeping the app's data) and `app install NAME=OLDER` (back again) through a
// real bulkheadd, each version run in its own VM. A tampered package, on the mirror and in the
// repository's targets alike, installs nothing. Needs root (host users, the worker's uid) and boots three VMs under
// TCG.
#include <pwd.h>
#include <sys/stat.h>

#include <filesystem>

#include "appstore/config.hpp"
#include "archpkg/makepkg_fixture.hpp"
#include "attest/layout.hpp"
#include "attest/link.hpp"
#include "bulkheadd_fixture.hpp"
#include "crypto/digest.hpp"
#include "crypto/signature.hpp"

namespace bulkhead {
namespace {

const std::string kBusyboxPkgbuild = R"(pkgname=bb
pkgver=1.35.0
pkgrel=1
arch=('x86_64')
options=('!strip' '!debug')
package() {
  install -Dm755 /bin/busybox "$pkgdir/usr/bin/busybox"
  ln -s busybox "$pkgdir/usr/bin/sh"
}
)";

const std::string kDataPkgbuild = R"(pkgname=hello-data
pkgver=1.0
pkgrel=1
arch=('any')
package() {
  install -d "$pkgdir/usr/share/hello"
  printf 'greetings from a package\n' > "$pkgdir/usr/share/hello/greeting"
}
)";

// The app counts its runs in its state disk, so a test can see the data outlive a version change.
std::string hello_pkgbuild(const std::string& version) {
    std::string text = R"PKG(pkgname=hello
pkgver=@VERSION@
pkgrel=1
arch=('any')
depends=('bb' 'hello-data>=1.0')
package() {
  install -d "$pkgdir/usr/bin"
  cat > "$pkgdir/usr/bin/hello" <<'SCRIPT'
#!/usr/bin/sh
runs=0
[ -f /state/runs ] && runs=$(busybox wc -l < /state/runs)
echo "run $((runs + 1)) by version @VERSION@: $(busybox cat /usr/share/hello/greeting)"
echo "@VERSION@" >> /state/runs
busybox sync
exec busybox sleep 600
SCRIPT
  chmod 755 "$pkgdir/usr/bin/hello"
}
)PKG";
    for (auto at = text.find("@VERSION@"); at != std::string::npos; at = text.find("@VERSION@")) {
        text.replace(at, 9, version);
    }
    return text;
}

class AppStore : public Bulkheadd {
protected:
    fs::path path(const std::string& relative) const { return dir.path() / relative; }

    fs::path build(const std::string& package_dir, const std::string& pkgbuild) {
        dir.write("build/" + package_dir + "/PKGBUILD", pkgbuild);
        const fs::path package = testing::run_makepkg(path("build/" + package_dir));
        fs::create_directories(path("pool"));
        fs::copy_file(package, path("pool") / package.filename(), fs::copy_options::overwrite_existing);
        const auto bytes = testing::read_whole_file(package);
        for (std::size_t i = 0; i < rebuilders.size(); ++i) {
            attest::LinkRequest request;
            request.products = {{package.filename().string(),
                                 {crypto::digest(crypto::HashAlgorithm::sha256, bytes),
                                  crypto::digest(crypto::HashAlgorithm::sha512, bytes)}}};
            dir.write("links/" + package.filename().string() + "/" +
                          attest::link_file_name("rebuild", attest::keyid_of(rebuilders[i].public_value())),
                      attest::make_link(request, rebuilders[i]).value());
        }
        return path("pool") / package.filename();
    }

    testing::ProcessResult cli(std::vector<std::string> args) {
        args.insert(args.begin(), kBin + "/bulkhead");
        return testing::run_process(args);
    }

    void curate(const std::string& snapshot, const std::vector<fs::path>& packages) {
        std::vector<std::string> add = {"/usr/bin/repo-add", "--quiet", path(snapshot + "/extra.db.tar.zst").string()};
        fs::create_directories(path(snapshot));
        for (const auto& package : packages) add.push_back(package.string());
        ASSERT_EQ(testing::run_process(add).exit_code, 0);
        std::vector<std::string> args = {"curate",
                                         "hello",
                                         "--repo",
                                         path("repo").string(),
                                         "--snapshot",
                                         "2026-11-28",
                                         "--repository",
                                         "extra=" + path(snapshot + "/extra.db").string(),
                                         "--packages",
                                         "extra=" + path("pool").string(),
                                         "--mirror",
                                         "extra=file://" + path("mirror").string() + "/",
                                         "--attestations",
                                         path("links").string(),
                                         "--rebuilder-threshold",
                                         "2",
                                         "--command",
                                         "/usr/bin/hello"};
        for (std::size_t i = 0; i < rebuilders.size(); ++i) {
            args.insert(args.end(), {"--rebuilder-key", path("rebuilder" + std::to_string(i) + ".pub").string()});
        }
        const auto curated = cli(args);
        ASSERT_EQ(curated.exit_code, 0) << curated.out << curated.err;
    }

    void SetUp() override {
        Bulkheadd::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        ::chmod(dir.path().c_str(), 0755);  // makepkg runs as nobody, the store's worker as its own uid
        local = "t" + std::to_string(::getpid() % 100000) + "-store";
        others.push_back(local);
        for (int i = 0; i < 2; ++i) {
            rebuilders.push_back(crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519).value());
            dir.write("rebuilder" + std::to_string(i) + ".pub",
                      attest::public_key_file(rebuilders.back().public_value()));
        }
        const fs::path busybox = build("bb", kBusyboxPkgbuild);
        const fs::path data = build("hello-data", kDataPkgbuild);
        const fs::path hello1 = build("hello", hello_pkgbuild("1.0"));
        const fs::path hello2 = build("hello-2", hello_pkgbuild("2.0"));
        // The mirror the curator names holds every package; the repository's own copies are TUF targets.
        fs::create_directories(path("mirror"));
        for (const auto& package : {busybox, data, hello1, hello2}) {
            fs::copy_file(package, path("mirror") / package.filename());
        }

        for (const std::string role : {"root", "targets", "snapshot", "timestamp"}) {
            ASSERT_EQ(cli({"keys", "generate", "--type", "ed25519", "--out", path(role + ".key").string(),
                           "--insecure-plaintext"})
                          .exit_code,
                      0);
        }
        ASSERT_EQ(cli({"repo", "init", path("repo").string(), "--root-key", path("root.key").string(), "--targets-key",
                       path("targets.key").string(), "--snapshot-key", path("snapshot.key").string(), "--timestamp-key",
                       path("timestamp.key").string()})
                      .exit_code,
                  0);
        curate("snapshot-1", {busybox, data, hello1});
        curate("snapshot-2", {busybox, data, hello2});
        for (const std::string role : {"root", "targets"}) {
            ASSERT_EQ(cli({"repo", "sign", path("repo").string(), "--key", path(role + ".key").string()}).exit_code, 0);
        }
        const auto published = cli({"repo", "publish", path("repo").string(), "--snapshot-key",
                                    path("snapshot.key").string(), "--timestamp-key", path("timestamp.key").string()});
        ASSERT_EQ(published.exit_code, 0) << published.err;

        config = write_config("store.toml", "file://" + path("repo/published/targets").string() + "/");
    }

    std::string write_config(const std::string& file, const std::string& targets_url) {
        return dir
            .write(file, "metadata_url = \"file://" + path("repo/published/metadata").string() +
                             "/\"\ntargets_url = \"" + targets_url + "\"\ntrusted_root = \"" +
                             path("repo/published/metadata/1.root.json").string() + "\"\nstate_dir = \"" +
                             path("store").string() + "\"\npatch_policy = \"warn\"\n[rebuilders]\nkeys = [\"" +
                             path("rebuilder0.pub").string() + "\", \"" + path("rebuilder1.pub").string() +
                             "\"]\nthreshold = 2\n[apps]\nmemory_mib = 128\nstate_disk_mib = 16\n")
            .string();
    }

    testing::ProcessResult store(std::vector<std::string> args) {
        args.insert(args.begin(),
                    {kBin + "/bulkhead", "app", "--socket", (dir.path() / "run/bulkheadd.sock").string()});
        args.insert(args.end(), {"--config", config});
        return testing::run_process(args);
    }

    void run_once(const std::string& expected) {
        const auto started = app({"start", local});
        ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
        EXPECT_TRUE(wait_for_output(expected, 120, local)) << app({"logs", local}).out;
        ASSERT_EQ(app({"stop", local}).exit_code, 0);
        for (int i = 0; i < 600; ++i) {
            const auto status = app({"status", local, "--json"});
            if (status.exit_code == 0 && Json::parse(status.out).value("state", "") != "running") break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    std::vector<crypto::PrivateKey> rebuilders;
    std::string local;
    std::string config;
};

TEST_F(AppStore, InstallRunUpdateAndGoBackKeepingData) {
    const auto versions = store({"versions", "hello", "--as", local, "--json"});
    ASSERT_EQ(versions.exit_code, 0) << versions.out << versions.err;
    EXPECT_EQ(Json::parse(versions.out)["versions"], Json::array({"1.0-1", "2.0-1"}));
    EXPECT_TRUE(Json::parse(versions.out)["installed"].is_null());

    // A mirror with a changed package and no genuine copy anywhere: refused, nothing installed.
    const fs::path tampered = path("mirror") / "hello-data-1.0-1-any.pkg.tar.zst";
    const std::string genuine = testing::read_whole_file(tampered);
    std::string changed = genuine;
    changed[changed.size() / 2] = static_cast<char>(changed[changed.size() / 2] ^ 1);
    dir.write("mirror/hello-data-1.0-1-any.pkg.tar.zst", changed);
    // The repository's own copy (a TUF target, under its hash-prefixed name) changed the same way.
    fs::copy(path("repo/published/targets"), path("tampered-targets"), fs::copy_options::recursive);
    for (const auto& entry : fs::recursive_directory_iterator(path("tampered-targets/packages"))) {
        if (entry.path().filename().string().ends_with(".hello-data-1.0-1-any.pkg.tar.zst")) {
            dir.write(entry.path().lexically_relative(dir.path()).string(), changed);
        }
    }
    const std::string good_config = config;
    config = write_config("tampered.toml", "file://" + path("tampered-targets").string() + "/");
    const auto refused = store({"install", "hello", "--as", local});
    EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("hello-data"), std::string::npos) << refused.err;
    EXPECT_EQ(app({"status", local}).exit_code, 1);
    EXPECT_EQ(::getpwnam(("bh-" + local).c_str()), nullptr);
    dir.write("mirror/hello-data-1.0-1-any.pkg.tar.zst", genuine);
    config = good_config;

    // An app added by hand is never replaced by the store.
    ASSERT_EQ(app({"add", definition}).exit_code, 0);
    const auto foreign = store({"install", "hello", "--as", name});
    EXPECT_EQ(foreign.exit_code, 1);
    EXPECT_NE(foreign.err.find("did not come from the app store"), std::string::npos) << foreign.err;

    // The older version, named; JSON progress events on stderr (not a terminal).
    const auto installed = store({"install", "hello=1.0-1", "--as", local, "--json"});
    ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
    EXPECT_EQ(Json::parse(installed.out)["version"], "1.0-1");
    EXPECT_EQ(Json::parse(installed.out)["packages"], 3);
    EXPECT_NE(installed.err.find("\"stage\":\"download\""), std::string::npos) << installed.err;
    EXPECT_NE(installed.err.find("\"stage\":\"image\""), std::string::npos) << installed.err;
    ASSERT_NE(::getpwnam(("bh-" + local).c_str()), nullptr);
    for (const auto& entry : fs::directory_iterator(path("store"))) {
        EXPECT_FALSE(entry.path().filename().string().starts_with("work-")) << "left behind: " << entry.path();
    }
    struct stat worker_dir {};
    ASSERT_EQ(::stat(path("store/worker").c_str(), &worker_dir), 0);
    EXPECT_EQ(worker_dir.st_uid, appstore::kDefaultWorkerUid);
    EXPECT_EQ(worker_dir.st_mode & 07777U, 0700U);
    const auto again = store({"install", "hello=1.0-1", "--as", local});
    EXPECT_EQ(again.exit_code, 0);
    EXPECT_NE(again.out.find("is installed already"), std::string::npos) << again.out;
    run_once("run 1 by version 1.0: greetings from a package");

    // The newest version; the app's data stays.
    // On a terminal (util-linux's `script` gives it one), progress is drawn as bars in place.
    const std::string command = kBin + "/bulkhead app --socket " + (dir.path() / "run/bulkheadd.sock").string() +
                                " update " + local + " --config " + config;
    const auto updated =
        testing::run_process({"/usr/bin/script", "--quiet", "--return", "--command", command, "/dev/null"});
    ASSERT_EQ(updated.exit_code, 0) << updated.out << updated.err;
    EXPECT_NE(updated.out.find("installed " + local + " 2.0-1 (3 packages"), std::string::npos) << updated.out;
    EXPECT_NE(updated.out.find("\r\033[Kdownload"), std::string::npos) << updated.out;
    EXPECT_NE(updated.out.find("] 100%  3/3 packages"), std::string::npos) << updated.out;
    EXPECT_EQ(updated.out.find("bulkhead.progress/1"), std::string::npos) << updated.out;
    const auto listed = store({"versions", "hello", "--as", local, "--json"});
    EXPECT_EQ(Json::parse(listed.out)["installed"], "2.0-1");
    run_once("run 2 by version 2.0: greetings from a package");

    // Back to the older version, explicitly, still with the data of both runs.
    const auto back = store({"install", "hello=1.0-1", "--as", local});
    ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
    run_once("run 3 by version 1.0: greetings from a package");
}

}  // namespace
}  // namespace bulkhead
