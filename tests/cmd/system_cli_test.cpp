// `bulkhead system publish | bundle | check-bundle` as a release manager and the core run them:
// an image directory staged as a core release, published with `bulkhead repo`, bundled, and the
// bundle checked against the trusted root; refusals change nothing.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

const std::string kBin = BULKHEAD_BIN_DIR;
const std::string kRootHash(64, 'c');

ProcessResult bulkhead(std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "/bulkhead");
    return testing::run_process(args);
}

class SystemCli : public ::testing::Test {
protected:
    void SetUp() override {
        for (const std::string name : {"root", "targets", "online"}) {
            ok({"keys", "generate", "--type", "ed25519", "--out", key(name), "--insecure-plaintext"});
        }
        ok({"repo", "init", repo(), "--root-key", key("root"), "--targets-key", key("targets"), "--snapshot-key",
            key("online"), "--timestamp-key", key("online")});
        image("image-1", "1.0", 1);
    }

    [[nodiscard]] std::string path(const std::string& name) const { return (dir.path() / name).string(); }
    [[nodiscard]] std::string key(const std::string& name) const { return path(name + ".key"); }
    [[nodiscard]] std::string repo() const { return path("repo"); }
    [[nodiscard]] std::string trusted_root() const { return repo() + "/published/metadata/1.root.json"; }

    void ok(const std::vector<std::string>& args) {
        const ProcessResult result = bulkhead(args);
        ASSERT_EQ(result.exit_code, 0) << args[0] << " " << args[1] << ": " << result.err << result.out;
    }

    // What `bulkhead image build` leaves, as far as publishing reads it.
    void image(const std::string& name, const std::string& version, int security_version) {
        dir.write(name + "/bulkhead.efi", "uki of " + version);
        dir.write(name + "/root.verity", std::string(4096, 'v') + version);
        dir.write(name + "/root.erofs", std::string(9000, 'r') + version);
        dir.write(name + "/manifest.json", nlohmann::json{{"format", "bulkhead-image/1"},
                                                          {"version", version},
                                                          {"security_version", security_version},
                                                          {"root_hash", kRootHash},
                                                          {"command_line", "x"},
                                                          {"artifacts", nlohmann::json::array()}}
                                               .dump());
    }

    void sign_and_publish() {
        ok({"repo", "sign", repo(), "--key", key("root")});
        ok({"repo", "sign", repo(), "--key", key("targets")});
        ok({"repo", "publish", repo(), "--snapshot-key", key("online"), "--timestamp-key", key("online")});
    }

    const testing::TempDir dir;
};

TEST_F(SystemCli, PublishBundleAndCheck) {
    ok({"system", "publish", "--repo", repo(), "--image", path("image-1"), "--release", "1"});
    sign_and_publish();
    ok({"system", "bundle", "--repo", repo(), "--out", path("update.bundle")});
    const ProcessResult checked =
        bulkhead({"system", "check-bundle", path("update.bundle"), "--trusted-root", trusted_root(), "--json"});
    ASSERT_EQ(checked.exit_code, 0) << checked.err << checked.out;
    const auto result = nlohmann::json::parse(checked.out);
    EXPECT_EQ(result.at("release"), 1);
    EXPECT_EQ(result.at("version"), "1.0");
    EXPECT_EQ(result.at("security_version"), 1);
    EXPECT_EQ(result.at("root_hash"), kRootHash);

    // The bundle is never overwritten.
    const ProcessResult again = bulkhead({"system", "bundle", "--repo", repo(), "--out", path("update.bundle")});
    EXPECT_EQ(again.exit_code, 1);
}

TEST_F(SystemCli, ATruncatedOrForeignBundleIsRefused) {
    ok({"system", "publish", "--repo", repo(), "--image", path("image-1"), "--release", "1"});
    sign_and_publish();
    ok({"system", "bundle", "--repo", repo(), "--out", path("update.bundle")});
    const std::string bytes = testing::read_whole_file(path("update.bundle"));
    dir.write("truncated.bundle", bytes.substr(0, bytes.size() - 1));
    const ProcessResult truncated =
        bulkhead({"system", "check-bundle", path("truncated.bundle"), "--trusted-root", trusted_root(), "--json"});
    EXPECT_EQ(truncated.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(truncated.out).at("error").at("code"), "parse") << truncated.out;

    // A root from another repository: the bundle is not signed by anyone the core trusts.
    for (const std::string name : {"other-root", "other-targets", "other-online"}) {
        ok({"keys", "generate", "--type", "ed25519", "--out", key(name), "--insecure-plaintext"});
    }
    ok({"repo", "init", path("other"), "--root-key", key("other-root"), "--targets-key", key("other-targets"),
        "--snapshot-key", key("other-online"), "--timestamp-key", key("other-online")});
    ok({"repo", "sign", path("other"), "--key", key("other-root")});
    ok({"repo", "sign", path("other"), "--key", key("other-targets")});
    ok({"repo", "publish", path("other"), "--snapshot-key", key("other-online"), "--timestamp-key",
        key("other-online")});
    const ProcessResult foreign = bulkhead({"system", "check-bundle", path("update.bundle"), "--trusted-root",
                                            path("other") + "/published/metadata/1.root.json", "--json"});
    EXPECT_EQ(foreign.exit_code, 1);
    EXPECT_EQ(nlohmann::json::parse(foreign.out).at("error").at("code"), "not_signed") << foreign.out;
}

TEST_F(SystemCli, PublishRefusesABadManifestAndStagesNothing) {
    dir.write("image-1/manifest.json", R"({"format": "bulkhead-image/1", "version": "1.0"})");
    const ProcessResult refused =
        bulkhead({"system", "publish", "--repo", repo(), "--image", path("image-1"), "--release", "1"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("security_version"), std::string::npos) << refused.err;
    const ProcessResult status = bulkhead({"repo", "status", repo(), "--json"});
    EXPECT_EQ(status.out.find("core/1"), std::string::npos) << status.out;
    EXPECT_EQ(bulkhead({"system", "publish", "--repo", repo(), "--image", path("image-1"), "--release", "0"}).exit_code,
              2);
}

}  // namespace
}  // namespace bulkhead
