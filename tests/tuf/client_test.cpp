// Runs the real bulkhead-tuf-client executable against a real HTTP server holding a signed test
// repository, the way the TUF conformance suite does, and checks exit codes, the exact requests
// made and the files left behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "json/parse.hpp"
#include "support/http_server.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"
#include "test_repository.hpp"
#include "tuf/metadata.hpp"

namespace bulkhead::tuf {
namespace {

namespace fs = std::filesystem;
using bulkhead::testing::HttpServer;
using bulkhead::testing::ProcessResult;
using bulkhead::testing::read_whole_file;
using bulkhead::testing::TempDir;
using testing::test_key;
using testing::TestRepository;

class ClientTest : public ::testing::Test {
protected:
    ClientTest() : server_([this](const std::string& path) { return repo.serve(path); }) {
        fs::create_directories(metadata_dir());
        fs::create_directories(target_dir());
    }

    [[nodiscard]] std::string metadata_dir() const { return (work_.path() / "metadata").string(); }
    [[nodiscard]] std::string target_dir() const { return (work_.path() / "targets").string(); }

    ProcessResult client(const std::vector<std::string>& arguments) {
        std::vector<std::string> argv{std::string(BULKHEAD_BIN_DIR) + "/bulkhead-tuf-client"};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        return bulkhead::testing::run_process(argv);
    }
    int init() {
        const auto root = work_.write("initial_root.json", repo.root_versions.begin()->second);
        return client({"--metadata-dir", metadata_dir(), "init", root.string()}).exit_code;
    }
    ProcessResult refresh() {
        return client({"--metadata-url", server_.url("/metadata/"), "--metadata-dir", metadata_dir(), "refresh"});
    }
    ProcessResult download(const std::vector<std::string>& names) {
        std::vector<std::string> arguments{"--metadata-url", server_.url("/metadata/"), "--metadata-dir",
                                           metadata_dir()};
        for (const std::string& name : names) {
            arguments.emplace_back("--target-name");
            arguments.push_back(name);
        }
        arguments.insert(arguments.end(),
                         {"--target-dir", target_dir(), "--target-base-url", server_.url("/targets/"), "download"});
        return client(arguments);
    }

    // Every *.json in the metadata directory as (file name, version), like the suite reads it.
    std::vector<std::pair<std::string, std::int64_t>> trusted_roles() const {
        std::vector<std::pair<std::string, std::int64_t>> roles;
        for (const auto& entry : fs::directory_iterator(metadata_dir())) {
            const std::string name = entry.path().filename().string();
            if (!name.ends_with(".json")) continue;
            auto value = json::parse(read_whole_file(entry.path()));
            EXPECT_TRUE(value) << name;
            roles.emplace_back(name.substr(0, name.size() - 5), value->find("signed")->find("version")->as_integer());
        }
        std::sort(roles.begin(), roles.end());
        return roles;
    }
    // Every file of the metadata directory with its exact bytes.
    std::map<std::string, std::string> metadata_files() const {
        std::map<std::string, std::string> files;
        for (const auto& entry : fs::directory_iterator(metadata_dir())) {
            files[entry.path().filename().string()] = read_whole_file(entry.path());
        }
        return files;
    }
    // Runs a refresh that must fail with `message` and leave the named metadata files as they were.
    void expect_refused(const std::string& message, const std::vector<std::string>& unchanged) {
        const auto before = metadata_files();
        const ProcessResult result = refresh();
        EXPECT_EQ(result.exit_code, 1);
        EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
        const auto after = metadata_files();
        for (const std::string& file : unchanged) {
            EXPECT_EQ(after.count(file), before.count(file)) << file;
            if (after.count(file) == 1 && before.count(file) == 1) {
                EXPECT_EQ(after.at(file), before.at(file)) << file << " changed by a refused update";
            }
        }
    }
    std::vector<std::string> target_files() const {
        std::vector<std::string> contents;
        for (const auto& entry : fs::directory_iterator(target_dir()))
            contents.push_back(read_whole_file(entry.path()));
        std::sort(contents.begin(), contents.end());
        return contents;
    }
    std::vector<std::string> requests() const { return server_.requests(); }
    [[nodiscard]] std::string metadata_url() const { return server_.url("/metadata/"); }
    void clear_requests() { server_.clear_requests(); }

    TestRepository repo;

private:
    TempDir work_;
    HttpServer server_;
};

using Roles = std::vector<std::pair<std::string, std::int64_t>>;
using Requests = std::vector<std::string>;

TEST_F(ClientTest, FreshRefreshMakesExactlyFourRequestsAndStoresExactBytes) {
    ASSERT_EQ(init(), 0);
    EXPECT_TRUE(requests().empty());  // init never touches the network
    const ProcessResult result = refresh();
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(requests(), (Requests{"/metadata/2.root.json", "/metadata/timestamp.json", "/metadata/1.snapshot.json",
                                    "/metadata/1.targets.json"}));
    EXPECT_EQ(trusted_roles(), (Roles{{"root", 1}, {"snapshot", 1}, {"targets", 1}, {"timestamp", 1}}));
    EXPECT_EQ(read_whole_file(fs::path(metadata_dir()) / "timestamp.json"), repo.timestamp_bytes);
    EXPECT_TRUE(target_files().empty());
}

TEST_F(ClientTest, UnchangedRepositoryIsServedFromTheCache) {
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    clear_requests();
    ASSERT_EQ(refresh().exit_code, 0);
    EXPECT_EQ(requests(), (Requests{"/metadata/2.root.json", "/metadata/timestamp.json"}));
}

TEST_F(ClientTest, InitialRootIsVerifiedBeforeAnyRequest) {
    nlohmann::json tampered = nlohmann::json::parse(repo.root_versions[1]);
    tampered["signed"]["version"] = 7;
    repo.root_versions[1] = tampered.dump();
    init();
    const ProcessResult result = refresh();
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("trusted root: signed by 0 of the 1"), std::string::npos) << result.err;
    EXPECT_TRUE(requests().empty());
}

TEST_F(ClientTest, EachValidatedRoleIsPersistedBeforeTheFailingOne) {
    repo.signers["snapshot"].clear();  // snapshot v2 will carry no signatures
    repo.publish("root");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    const ProcessResult result = refresh();
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("snapshot.json: signed by 0 of the 1"), std::string::npos) << result.err;
    EXPECT_EQ(trusted_roles(), (Roles{{"root", 2}, {"timestamp", 2}}));
}

TEST_F(ClientTest, SameVersionTimestampWithNewContentIsIgnored) {
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    const std::string trusted = repo.timestamp_bytes;
    repo.timestamp["meta"]["snapshot.json"]["version"] = 100;
    repo.timestamp_bytes = repo.sign("timestamp", repo.timestamp);
    ASSERT_EQ(refresh().exit_code, 0);
    EXPECT_EQ(requests().back(), "/metadata/timestamp.json");
    EXPECT_EQ(read_whole_file(fs::path(metadata_dir()) / "timestamp.json"), trusted);
}

TEST_F(ClientTest, TimestampRollbackIsRefused) {
    const std::string v1 = repo.timestamp_bytes;
    repo.publish("timestamp");
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    repo.timestamp_bytes = v1;
    const ProcessResult result = refresh();
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("timestamp.json: version 1 is older than the trusted version 2"), std::string::npos);
    EXPECT_EQ(trusted_roles(), (Roles{{"root", 1}, {"snapshot", 1}, {"targets", 1}, {"timestamp", 2}}));
}

TEST_F(ClientTest, SnapshotFastForwardRecoveryAfterKeyRotation) {
    for (int i = 0; i < 5; ++i) repo.publish("snapshot");
    repo.publish("timestamp");
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    // The repository rotates snapshot and timestamp keys and starts snapshot over at version 1.
    repo.set_role_keys("snapshot", {&test_key(30)}, 1);
    repo.set_role_keys("timestamp", {&test_key(31)}, 1);
    repo.publish("root");
    repo.snapshot_versions.clear();
    repo.snapshot["version"] = 1;
    repo.snapshot_versions[1] = repo.sign("snapshot", repo.snapshot);
    repo.timestamp["meta"]["snapshot.json"]["version"] = 1;
    repo.publish("timestamp");
    const ProcessResult result = refresh();
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(trusted_roles(), (Roles{{"root", 2}, {"snapshot", 1}, {"targets", 1}, {"timestamp", 3}}));
}

TEST_F(ClientTest, DownloadsVerifiesAndCachesTargets) {
    repo.add_target("targets", "path/to/a/target_file.txt", "target file contents");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    const ProcessResult first = download({"path/to/a/target_file.txt"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(target_files(), Requests{"target file contents"});
    const Requests made = requests();
    ASSERT_EQ(made.size(), 5U);
    EXPECT_TRUE(made[4].starts_with("/targets/path/to/a/")) << made[4];
    EXPECT_TRUE(made[4].ends_with(".target_file.txt")) << made[4];

    clear_requests();
    ASSERT_EQ(download({"path/to/a/target_file.txt"}).exit_code, 0);
    for (const std::string& request : requests()) EXPECT_FALSE(request.starts_with("/targets/")) << request;
}

TEST_F(ClientTest, RepositoryWithoutConsistentSnapshotsUsesPlainNames) {
    repo.root["consistent_snapshot"] = false;
    repo.signers["root"] = {&test_key(0)};
    repo.publish("root");
    repo.add_target("targets", "dir/plain.txt", "plain");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    const ProcessResult result = download({"dir/plain.txt"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(requests(), (Requests{"/metadata/2.root.json", "/metadata/3.root.json", "/metadata/timestamp.json",
                                    "/metadata/snapshot.json", "/metadata/targets.json", "/targets/dir/plain.txt"}));
    EXPECT_EQ(target_files(), Requests{"plain"});
}

TEST_F(ClientTest, OddTargetPathsGetSafeLocalNames) {
    const std::string long_path = "deep/" + std::string(300, 'x');
    repo.add_target("targets", "..", "dot dot");
    repo.add_target("targets", long_path, "long");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    const ProcessResult result = download({"..", long_path});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(target_files(), (Requests{"dot dot", "long"}));
    for (const auto& entry : fs::directory_iterator(target_dir())) {
        EXPECT_TRUE(entry.path().filename().string().starts_with("sha256-")) << entry.path();
    }
    clear_requests();
    ASSERT_EQ(download({"..", long_path}).exit_code, 0);  // both found in the cache
    for (const std::string& request : requests()) EXPECT_FALSE(request.starts_with("/targets/")) << request;
}

TEST_F(ClientTest, SymlinkInTheTargetDirectoryIsNotACacheHit) {
    repo.add_target("targets", "a.txt", "real contents");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    const auto elsewhere = fs::path(metadata_dir()).parent_path() / "elsewhere";
    { std::ofstream(elsewhere) << "real contents"; }
    fs::create_symlink(elsewhere, fs::path(target_dir()) / "a.txt");
    ASSERT_EQ(download({"a.txt"}).exit_code, 0);
    EXPECT_FALSE(fs::is_symlink(fs::path(target_dir()) / "a.txt"));  // replaced by a verified file
    EXPECT_EQ(read_whole_file(fs::path(target_dir()) / "a.txt"), "real contents");
}

TEST_F(ClientTest, SubstitutedTargetIsRefusedAndLeavesNothingBehind) {
    repo.add_target("targets", "a.txt", "real contents");
    repo.add_target("targets", "b.txt", "content");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(download({"a.txt"}).exit_code, 0);
    repo.served_instead["a.txt"] = "evil contents";
    repo.served_instead["b.txt"] = "evil!!!";     // same length, wrong hash
    EXPECT_EQ(download({"a.txt"}).exit_code, 0);  // cached and still valid: no download
    const ProcessResult substituted = download({"b.txt"});
    EXPECT_EQ(substituted.exit_code, 1);
    EXPECT_NE(substituted.err.find("b.txt: sha256 hash mismatch"), std::string::npos) << substituted.err;
    EXPECT_EQ(target_files(), Requests{"real contents"});
    for (const auto& entry : fs::directory_iterator(fs::path(target_dir()).parent_path())) {
        EXPECT_FALSE(entry.path().filename().string().starts_with(".bulkhead-download-")) << entry.path();
    }
    repo.served_instead["b.txt"] = "content plus more";  // longer than declared
    EXPECT_EQ(download({"b.txt"}).exit_code, 1);
    EXPECT_EQ(target_files(), Requests{"real contents"});
}

TEST_F(ClientTest, MissingTargetFailsAfterTheSameFourRequests) {
    ASSERT_EQ(init(), 0);
    const ProcessResult result = download({"nonexistent artifact"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(requests().size(), 4U);
}

// The delegation graphs of the conformance suite: the exact order roles are fetched in.
TEST_F(ClientTest, DelegationSearchIsPreOrderDepthFirst) {
    repo.delegate("targets", "A", {"*"}, false, 40);
    repo.delegate("targets", "B", {"*"}, false, 41);
    repo.delegate("A", "C", {"*"}, false, 42);
    repo.delegate("A", "D", {"*"}, false, 43);
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    EXPECT_EQ(download({"missingpath"}).exit_code, 1);
    const Requests made = requests();
    ASSERT_GE(made.size(), 4U);
    EXPECT_EQ(Requests(made.begin() + 4, made.end()),
              (Requests{"/metadata/1.A.json", "/metadata/1.C.json", "/metadata/1.D.json", "/metadata/1.B.json"}));
}

TEST_F(ClientTest, TerminatingDelegationStopsTheSearch) {
    repo.delegate("targets", "A", {"*"}, false, 40);
    repo.delegate("targets", "B", {"*"}, false, 41);
    repo.delegate("A", "C", {"*"}, true, 42);
    repo.delegate("A", "D", {"*"}, false, 43);
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    EXPECT_EQ(download({"missingpath"}).exit_code, 1);
    const Requests made = requests();
    EXPECT_EQ(Requests(made.begin() + 4, made.end()), (Requests{"/metadata/1.A.json", "/metadata/1.C.json"}));
}

TEST_F(ClientTest, CyclesAndSharedChildrenAreFetchedOnce) {
    repo.delegate("targets", "A", {"*"}, false, 40);
    repo.delegate("targets", "B", {"*"}, false, 41);
    repo.delegate("B", "C", {"*"}, false, 42);
    repo.delegate("A", "C", {"*"}, false, 43);
    repo.delegate("C", "B", {"*"}, false, 44);
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    EXPECT_EQ(download({"missingpath"}).exit_code, 1);
    const Requests made = requests();
    EXPECT_EQ(Requests(made.begin() + 4, made.end()),
              (Requests{"/metadata/1.A.json", "/metadata/1.C.json", "/metadata/1.B.json"}));
}

TEST_F(ClientTest, PathPatternsDecideWhichRolesAreAsked) {
    repo.delegate("targets", "A", {"*.doc", "*.md", "foo-?.tgz"}, false, 40);
    repo.delegate("targets", "B", {"releases/*/*"}, false, 41);
    repo.delegate("B", "C", {"releases/x/*"}, false, 42);
    repo.delegate("B", "D", {"releases/y/*.zip"}, false, 43);
    repo.add_target("A", "README.md", "readme");
    repo.add_target("A", "releases/README.md", "nested readme");
    repo.add_target("C", "releases/x/x_v1", "x1");
    repo.add_target("D", "releases/z/z_v1.zip", "z1");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    struct Case {
        std::string target;
        int exit_code;
        Requests fetched;
    };
    for (const Case& c : std::vector<Case>{{"README.md", 0, {"/metadata/1.A.json"}},
                                           {"releases/x/x_v1", 0, {"/metadata/1.B.json", "/metadata/1.C.json"}},
                                           {"releases/z/z_v1.zip", 1, {"/metadata/1.B.json"}},
                                           {"releases/README.md", 1, {}},
                                           {"README.MD", 1, {}},
                                           {"foo-alpha.tgz", 1, {}}}) {
        fs::remove_all(metadata_dir());
        fs::create_directories(metadata_dir());
        ASSERT_EQ(init(), 0);
        clear_requests();
        EXPECT_EQ(download({c.target}).exit_code, c.exit_code) << c.target;
        const Requests made = requests();
        Requests metadata;
        for (std::size_t i = 4; i < made.size(); ++i) {
            if (made[i].starts_with("/metadata/")) metadata.push_back(made[i]);
        }
        EXPECT_EQ(metadata, c.fetched) << c.target;
    }
}

TEST_F(ClientTest, HostileRoleNamesStayInsideTheMetadataDirectory) {
    for (const char* name : {"../delegatedrole", "/abs", "?", "#"}) {
        repo.delegate("targets", name, {"*"}, false, 50);
    }
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    EXPECT_EQ(download({"nonexistent target"}).exit_code, 1);
    const Requests made = requests();
    EXPECT_NE(std::find(made.begin(), made.end(), "/metadata/1...%2Fdelegatedrole.json"), made.end())
        << ::testing::PrintToString(made);
    EXPECT_NE(std::find(made.begin(), made.end(), "/metadata/1.%2Fabs.json"), made.end());
    EXPECT_NE(std::find(made.begin(), made.end(), "/metadata/1.%3F.json"), made.end());
    EXPECT_EQ(trusted_roles().size(), 8U);
    EXPECT_FALSE(fs::exists(fs::path(metadata_dir()).parent_path() / "delegatedrole.json"));
}

TEST_F(ClientTest, DiamondDelegationIsVerifiedAgainstTheCurrentDelegator) {
    repo.delegate("targets", "parent-a", {"team-a/*"}, false, 60);
    repo.delegate("targets", "parent-b", {"team-b/*"}, false, 61);
    repo.delegate("parent-a", "release", {"team-a/*"}, false, 62);
    repo.delegate("parent-b", "release", {"team-b/*"}, false, 63);
    repo.signers["release"] = {&test_key(62)};  // parent-b's key for release does not sign
    repo.add_target("release", "team-a/trusted_root.json", "trusted A");
    repo.add_target("release", "team-b/trusted_root.json", "malicious B");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    const ProcessResult result = download({"team-a/trusted_root.json", "team-b/trusted_root.json"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("release.json (delegated by parent-b)"), std::string::npos) << result.err;
    EXPECT_EQ(target_files(), Requests{"trusted A"});
}

// Each refused update: the failing role's trusted file, and every file after it in the
// workflow, stay exactly as they were (earlier roles that did verify may advance).
TEST_F(ClientTest, ExpiredTimestampChangesNothing) {
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    repo.timestamp["expires"] = repo.expires_in(-10);
    repo.publish("timestamp");
    expect_refused("timestamp.json: version 2 expired at",
                   {"root.json", "timestamp.json", "snapshot.json", "targets.json"});
}

TEST_F(ClientTest, ExpiredSnapshotIsNotStored) {
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    repo.snapshot["expires"] = repo.expires_in(-10);
    repo.publish("snapshot");
    repo.publish("timestamp");
    expect_refused("snapshot.json: version 2 expired at", {"snapshot.json", "targets.json"});
    EXPECT_EQ(trusted_roles(), (Roles{{"root", 1}, {"snapshot", 1}, {"targets", 1}, {"timestamp", 2}}));
}

TEST_F(ClientTest, MixAndMatchIsRefused) {
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    // The mirror serves a snapshot other than the one the timestamp names.
    repo.publish("snapshot");
    repo.publish("timestamp");  // names snapshot 2
    repo.snapshot_versions[2] = repo.snapshot_versions[1];
    expect_refused("snapshot.json: version 1 does not match version 2 listed by the timestamp",
                   {"snapshot.json", "targets.json"});
}

TEST_F(ClientTest, ExpiredTargetsAreNotStored) {
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    repo.targets["targets"]["expires"] = repo.expires_in(-10);
    repo.publish_all_targets_and_snapshot();
    expect_refused("targets.json: version 2 expired at", {"targets.json"});
    EXPECT_EQ(trusted_roles(), (Roles{{"root", 1}, {"snapshot", 2}, {"targets", 1}, {"timestamp", 2}}));
}

TEST_F(ClientTest, TargetsWithWrongHashAreNotStored) {
    repo.with_hashes = true;
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    repo.publish("targets");
    repo.snapshot["meta"]["targets.json"]["hashes"]["sha256"] = std::string(64, '0');
    repo.publish("snapshot");
    repo.publish("timestamp");
    expect_refused("targets.json: sha256 hash mismatch", {"targets.json"});
}

TEST_F(ClientTest, OversizedMetadataIsCutOff) {
    ASSERT_EQ(init(), 0);
    repo.timestamp["padding"] = std::string(20000, 'x');  // an endless-data attack on the timestamp
    repo.publish("timestamp");
    const ProcessResult result = refresh();
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("timestamp.json: larger than the limit of 16384 bytes"), std::string::npos) << result.err;
}

TEST_F(ClientTest, SnapshotLongerThanTheTimestampSaysIsCutOff) {
    repo.with_hashes = true;
    repo.publish("snapshot");
    repo.publish("timestamp");
    repo.snapshot_versions[2] += std::string(100, ' ');  // served bytes grow past the listed length
    ASSERT_EQ(init(), 0);
    const ProcessResult result = refresh();
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("2.snapshot.json: larger than the limit of"), std::string::npos) << result.err;
}

TEST_F(ClientTest, ListedLengthsAboveTheLimitAreRefused) {
    repo.timestamp["meta"]["snapshot.json"]["length"] = 1LL << 40;  // an online key asking for a terabyte
    repo.publish("timestamp");
    ASSERT_EQ(init(), 0);
    const ProcessResult result = refresh();
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("snapshot.json: listed length of 1099511627776 bytes exceeds the configured limit"),
              std::string::npos)
        << result.err;
}

TEST_F(ClientTest, PathHashPrefixDelegation) {
    // sha256("bar") starts with "fc", sha256("foo") with "2c".
    repo.delegate_by_hash_prefix("targets", "bins-fc", {"fc"}, 70);
    repo.delegate_by_hash_prefix("targets", "bins-2c", {"2c"}, 71);
    repo.add_target("bins-fc", "bar", "bar contents");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(download({"bar"}).exit_code, 0);
    const Requests made = requests();
    EXPECT_EQ(std::count(made.begin(), made.end(), "/metadata/1.bins-fc.json"), 1);
    EXPECT_EQ(std::count(made.begin(), made.end(), "/metadata/1.bins-2c.json"), 0);
    EXPECT_EQ(target_files(), Requests{"bar contents"});
}

// TAP 15 at the scale the issue names: 16,384 bins, each its own signed role in the snapshot.
TEST_F(ClientTest, SuccinctHashBinsWith16384Bins) {
    repo.delegate_bins("targets", 14, "bin");
    // "bar" hashes to 0xfcde..., so with 14 bits it lands in bin 0x3f37.
    repo.add_target("bin-3f37", "bar", "in the right bin");
    repo.publish_all_targets_and_snapshot();
    ASSERT_EQ(init(), 0);
    const ProcessResult result = download({"bar"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const Requests made = requests();
    EXPECT_EQ(std::count(made.begin(), made.end(), "/metadata/1.bin-3f37.json"), 1);
    std::size_t metadata_requests = 0;
    for (const std::string& request : made) metadata_requests += request.starts_with("/metadata/") ? 1U : 0U;
    EXPECT_EQ(metadata_requests, 5U);  // root probe, timestamp, snapshot, targets, the one bin
    EXPECT_EQ(target_files(), Requests{"in the right bin"});
    EXPECT_EQ(download({"foo"}).exit_code, 1);  // its bin exists but does not list it
}

// The conformance suite fakes time with libfaketime (LD_PRELOAD): expiry must follow libc's clock.
TEST_F(ClientTest, ExpiryFollowsTheClockSeenThroughLibc) {
    repo.root["expires"] = repo.expires_in(7 * 24 * 3600);
    repo.publish("root");
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    const std::string later = format_expires(repo.now + 8 * 24 * 3600);
    const std::string faked = later.substr(0, 10) + " " + later.substr(11, 8);  // "YYYY-MM-DD HH:MM:SS"
    // Under AddressSanitizer, libfaketime is preloaded ahead of the ASan runtime; allow that.
    const char* asan_options = std::getenv("ASAN_OPTIONS");
    const std::string options = std::string(asan_options != nullptr ? asan_options : "") + ":verify_asan_link_order=0";
    ::setenv("ASAN_OPTIONS", options.c_str(), 1);
    const ProcessResult result = bulkhead::testing::run_process(
        {"/usr/bin/faketime", faked, std::string(BULKHEAD_BIN_DIR) + "/bulkhead-tuf-client", "--metadata-url",
         metadata_url(), "--metadata-dir", metadata_dir(), "refresh"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("root.json: version 2 expired at"), std::string::npos) << result.err;
}

TEST_F(ClientTest, UsageErrorsExitOne) {
    EXPECT_EQ(client({}).exit_code, 1);
    EXPECT_EQ(client({"--metadata-dir", metadata_dir(), "refresh"}).exit_code, 1);
    EXPECT_EQ(client({"--bogus", "refresh"}).exit_code, 1);
    EXPECT_EQ(client({"--help"}).exit_code, 0);
}

// SIGKILL at any moment of a refresh never leaves metadata that cannot be loaded or that is
// older than before: every write is a rename of a complete, synced file.
TEST_F(ClientTest, KilledRefreshNeverCorruptsTrustedMetadata) {
    ASSERT_EQ(init(), 0);
    ASSERT_EQ(refresh().exit_code, 0);
    for (int round = 0; round < 3; ++round) {
        repo.publish("root");
        repo.publish_all_targets_and_snapshot();
    }
    const std::string client_path = std::string(BULKHEAD_BIN_DIR) + "/bulkhead-tuf-client";
    const std::string url = metadata_url();
    Roles before = trusted_roles();
    for (int delay_us = 0; delay_us < 60000; delay_us += 1500) {
        const pid_t child = ::fork();
        if (child == 0) {
            const int null_fd = ::open("/dev/null", O_WRONLY);
            ::dup2(null_fd, STDERR_FILENO);
            ::execl(client_path.c_str(), client_path.c_str(), "--metadata-url", url.c_str(), "--metadata-dir",
                    metadata_dir().c_str(), "refresh", nullptr);
            ::_exit(127);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        const Roles after = trusted_roles();  // parses every file
        ASSERT_EQ(after.size(), 4U);
        for (std::size_t i = 0; i < after.size(); ++i) {
            EXPECT_EQ(after[i].first, before[i].first);
            EXPECT_GE(after[i].second, before[i].second) << after[i].first << " went back";
        }
        EXPECT_TRUE(parse_root(read_whole_file(fs::path(metadata_dir()) / "root.json")));
        before = after;
    }
    ASSERT_EQ(refresh().exit_code, 0);
    EXPECT_EQ(trusted_roles(), (Roles{{"root", 4}, {"snapshot", 4}, {"targets", 4}, {"timestamp", 4}}));
}

}  // namespace
}  // namespace bulkhead::tuf
