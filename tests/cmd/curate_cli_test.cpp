// `bulkhead curate` as a curator runs it: a repository made with `bulkhead repo init`, packages
// from makepkg in a repo-add database, rebuilder links and keys, then sign and publish. A refused
// curation exits 1 with the reason and leaves the repository byte for byte as it was.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "archpkg/sample_packages.hpp"
#include "attest/layout.hpp"
#include "crypto/digest.hpp"

namespace bulkhead {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

const std::string kBin = BULKHEAD_BIN_DIR;

ProcessResult bulkhead(std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "/bulkhead");
    return testing::run_process(args);
}

std::map<std::string, std::string> tree_picture(const fs::path& root) {
    std::map<std::string, std::string> picture;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        picture[entry.path().lexically_relative(root).string()] =
            entry.is_directory() ? std::string("<dir>") : testing::read_whole_file(entry.path());
    }
    return picture;
}

TEST(CurateCli, StagesSignsAndPublishesAnAppVersion) {
    testing::SamplePackages samples;
    samples.dir.write("shell/PKGBUILD", testing::kShellPkgbuild);
    const auto shell = testing::run_makepkg(samples.dir.path() / "shell");
    testing::TempDir dir;
    const auto path = [&](const std::string& name) { return (dir.path() / name).string(); };
    std::vector<std::string> add = {"/usr/bin/repo-add", "--quiet", path("mirror/extra.db.tar.zst")};
    fs::create_directories(dir.path() / "mirror");
    for (const auto& package : {samples.app, samples.lib, shell}) {
        fs::copy_file(package, dir.path() / "mirror" / package.filename());
        add.push_back(path("mirror/" + package.filename().string()));
    }
    ASSERT_EQ(testing::run_process(add).exit_code, 0);

    // Two rebuilders who reproduced every package.
    std::vector<std::string> key_options;
    for (int i = 0; i < 2; ++i) {
        const auto rebuilder = crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519).value();
        const auto keyid = attest::keyid_of(rebuilder.public_value());
        dir.write("rebuilder" + std::to_string(i) + ".pub", attest::public_key_file(rebuilder.public_value()));
        key_options.insert(key_options.end(), {"--rebuilder-key", path("rebuilder" + std::to_string(i) + ".pub")});
        for (const auto& package : {samples.app, samples.lib, shell}) {
            const auto bytes = testing::read_whole_file(package);
            attest::LinkRequest request;
            request.products = {{package.filename().string(),
                                 {crypto::digest(crypto::HashAlgorithm::sha256, bytes),
                                  crypto::digest(crypto::HashAlgorithm::sha512, bytes)}}};
            dir.write("links/" + package.filename().string() + "/" + attest::link_file_name("rebuild", keyid),
                      attest::make_link(request, rebuilder).value());
        }
    }

    for (const std::string name : {"root", "targets", "snapshot", "timestamp"}) {
        ASSERT_EQ(
            bulkhead({"keys", "generate", "--type", "ed25519", "--out", path(name + ".key"), "--insecure-plaintext"})
                .exit_code,
            0);
    }
    const auto repo = path("repo");
    ASSERT_EQ(bulkhead({"repo", "init", repo, "--root-key", path("root.key"), "--targets-key", path("targets.key"),
                        "--snapshot-key", path("snapshot.key"), "--timestamp-key", path("timestamp.key")})
                  .exit_code,
              0);

    std::vector<std::string> curate = {"curate",
                                       "demo-app",
                                       "--repo",
                                       repo,
                                       "--snapshot",
                                       "2026-11-27",
                                       "--repository",
                                       "extra=" + path("mirror/extra.db"),
                                       "--mirror",
                                       "extra=https://mirror.invalid/extra/",
                                       "--attestations",
                                       path("links"),
                                       "--rebuilder-threshold",
                                       "2",
                                       "--json"};
    curate.insert(curate.end(), key_options.begin(), key_options.end());

    // Refused first: three rebuilders required, two agree; nothing changes.
    auto strict = curate;
    strict[strict.size() - key_options.size() - 2] = "3";
    const auto before = tree_picture(repo);
    const auto refused = bulkhead(strict);
    EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
    EXPECT_NE(refused.out.find("the rebuilder threshold 3 is not between 1 and 2"), std::string::npos) << refused.out;
    EXPECT_EQ(tree_picture(repo), before);
    auto missing = curate;
    missing[1] = "no-such-app";
    EXPECT_EQ(bulkhead(missing).exit_code, 1);
    EXPECT_EQ(tree_picture(repo), before);
    EXPECT_EQ(bulkhead({"curate", "demo-app", "--repo", repo}).exit_code, 2);

    const auto staged = bulkhead(curate);
    ASSERT_EQ(staged.exit_code, 0) << staged.out << staged.err;
    const auto report = nlohmann::json::parse(staged.out);
    EXPECT_EQ(report["version"], "1:2.1.0-3");
    EXPECT_EQ(report["closure"], "apps/demo-app/1:2.1.0-3/closure.json");
    ASSERT_EQ(report["packages"].size(), 3U);
    EXPECT_EQ(report["packages"][0]["rebuilders"], 2);
    EXPECT_EQ(report["packages"][0]["patchless"], "unknown");

    for (const std::string name : {"root", "targets"}) {
        ASSERT_EQ(bulkhead({"repo", "sign", repo, "--key", path(name + ".key")}).exit_code, 0);
    }
    const auto published = bulkhead(
        {"repo", "publish", repo, "--snapshot-key", path("snapshot.key"), "--timestamp-key", path("timestamp.key")});
    ASSERT_EQ(published.exit_code, 0) << published.err;
    const auto status = bulkhead({"repo", "status", repo, "--json"});
    ASSERT_EQ(status.exit_code, 0);
    EXPECT_NE(status.out.find("\"targets\""), std::string::npos);
    EXPECT_TRUE(fs::exists(dir.path() / "repo/published/targets/apps/demo-app"));
}

}  // namespace
}  // namespace bulkhead
