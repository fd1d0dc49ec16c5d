// Repository databases made by repo-add from real makepkg packages: read whole, matched against
// the packages themselves (repo-add's own sha256 and size are an independent check of ours),
// and refused when changed in ways that would mislead the curator.
#include "archpkg/repo_db.hpp"

#include <gtest/gtest.h>

#include "archpkg/package.hpp"
#include "archpkg/sample_packages.hpp"
#include "base/text.hpp"

namespace bulkhead::archpkg {
namespace {

using testing::Member;
using testing::read_members;
using testing::SamplePackages;
using testing::TempDir;
using testing::write_members;

class RepoDatabaseTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        samples_ = new SamplePackages();
        repo_ = new TempDir();
        std::vector<std::string> argv = {"/usr/bin/repo-add", "--quiet", (repo_->path() / "demo.db.tar.zst").string()};
        for (const auto& package : {samples_->app, samples_->lib}) {
            const auto copy = repo_->path() / package.filename();
            std::filesystem::copy_file(package, copy);
            argv.push_back(copy.string());
        }
        const auto result = testing::run_process(argv);
        ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
    }
    static void TearDownTestSuite() {
        delete repo_;
        delete samples_;
    }

    Result<RepoDatabase> read_changed(const std::string& database,
                                      const std::function<void(std::vector<Member>&)>& change) {
        auto members = read_members(repo_->path() / database);
        change(members);
        const auto path = scratch_.path() / "changed.db";
        write_members(path, members, ARCHIVE_FILTER_GZIP);
        return read_repo_database_file(path.string());
    }

    static void expect_refused(const Result<RepoDatabase>& result, const std::string& message_part) {
        ASSERT_FALSE(result) << "accepted a database that should be refused (" << message_part << ")";
        EXPECT_NE(result.error().message.find(message_part), std::string::npos) << result.error().message;
    }

    static SamplePackages* samples_;
    static TempDir* repo_;
    TempDir scratch_;
};

SamplePackages* RepoDatabaseTest::samples_ = nullptr;
TempDir* RepoDatabaseTest::repo_ = nullptr;

TEST_F(RepoDatabaseTest, ListsEveryPackageAsThePackageDescribesItself) {
    // demo.db is a symlink to demo.db.tar.zst, as on every Arch mirror.
    auto database = read_repo_database_file((repo_->path() / "demo.db").string());
    ASSERT_TRUE(database) << database.error().message;
    EXPECT_FALSE(database->has_files);
    ASSERT_EQ(database->packages.size(), 2U);
    for (const auto& path : {samples_->app, samples_->lib}) {
        auto package = read_package_file(path.string());
        ASSERT_TRUE(package) << package.error().message;
        const auto* listed = find_package(*database, package->info.name);
        ASSERT_NE(listed, nullptr) << package->info.name;
        EXPECT_EQ(listed->file_name, path.filename().string());
        EXPECT_EQ(listed->version, package->info.version);
        EXPECT_EQ(listed->sha256, package->sha256) << "repo-add and the package reader disagree on the sha256";
        EXPECT_EQ(listed->compressed_size, package->file_size);
        EXPECT_EQ(listed->installed_size, package->info.installed_size);
        EXPECT_EQ(listed->build_date, package->info.build_date);
        EXPECT_EQ(listed->depends, package->info.depends);
        EXPECT_EQ(listed->provides, package->info.provides);
        EXPECT_EQ(listed->conflicts, package->info.conflicts);
        EXPECT_EQ(listed->replaces, package->info.replaces);
        EXPECT_EQ(listed->licenses, package->info.licenses);
        EXPECT_EQ(listed->groups, package->info.groups);
        EXPECT_TRUE(listed->has_md5);
    }
    EXPECT_EQ(find_package(*database, "absent"), nullptr);
}

TEST_F(RepoDatabaseTest, FilesDatabaseListsThePayload) {
    auto database = read_repo_database_file((repo_->path() / "demo.files").string());
    ASSERT_TRUE(database) << database.error().message;
    EXPECT_TRUE(database->has_files);
    const auto* lib = find_package(*database, "demo-lib");
    ASSERT_NE(lib, nullptr);
    EXPECT_EQ(lib->files, (std::vector<std::string>{"usr/", "usr/lib/", "usr/lib/libdemo.so", "usr/lib/libdemo.so.1"}));
}

TEST_F(RepoDatabaseTest, RefusesADirectoryNamedForAnotherPackage) {
    expect_refused(read_changed("demo.db",
                                [](std::vector<Member>& members) {
                                    for (auto& member : members) {
                                        auto path = member.path();
                                        if (path.starts_with("demo-lib-1.4-1")) {
                                            path.replace(0, 14, "demo-lib-9.9-1");
                                            archive_entry_copy_pathname(member.entry.get(), path.c_str());
                                        }
                                    }
                                }),
                   "directory 'demo-lib-9.9-1' holds demo-lib 1.4-1");
}

TEST_F(RepoDatabaseTest, RefusesUnexpectedEntries) {
    expect_refused(read_changed("demo.db",
                                [](std::vector<Member>& members) {
                                    Member extra{testing::make_entry(), "%DEPENDS%\nx\n"};
                                    archive_entry_copy_pathname(extra.entry.get(), "demo-lib-1.4-1/depends");
                                    archive_entry_set_filetype(extra.entry.get(), AE_IFREG);
                                    archive_entry_set_perm(extra.entry.get(), 0644);
                                    members.push_back(std::move(extra));
                                }),
                   "unexpected entry 'demo-lib-1.4-1/depends'");
}

TEST_F(RepoDatabaseTest, RefusesTheSamePackageTwice) {
    expect_refused(
        read_changed("demo.db",
                     [](std::vector<Member>& members) {
                         std::vector<Member> copies;
                         for (const auto& member : members) {
                             if (!member.path().starts_with("demo-lib-1.4-1")) continue;
                             Member copy{{archive_entry_clone(member.entry.get()), archive_entry_free}, member.data};
                             auto path = member.path();
                             path.replace(0, 14, "demo-lib-1.3-1");
                             archive_entry_copy_pathname(copy.entry.get(), path.c_str());
                             if (path.ends_with("desc")) {
                                 copy.data.replace(copy.data.find("%VERSION%\n1.4-1"), 15, "%VERSION%\n1.3-1");
                                 copy.data.replace(copy.data.find("demo-lib-1.4-1-x86_64"), 21,
                                                   "demo-lib-1.3-1-x86_64");
                             }
                             copies.push_back(std::move(copy));
                         }
                         for (auto& copy : copies) members.push_back(std::move(copy));
                     }),
        "lists demo-lib twice");
}

TEST_F(RepoDatabaseTest, RefusesAMalformedDesc) {
    expect_refused(read_changed("demo.db",
                                [](std::vector<Member>& members) {
                                    for (auto& member : members) {
                                        if (member.path() == "demo-lib-1.4-1/desc") member.data += "%EVIL%\nx\n";
                                    }
                                }),
                   "demo-lib-1.4-1/desc: desc has an unknown section %EVIL%");
}

TEST_F(RepoDatabaseTest, RefusesATruncatedDatabase) {
    const auto file = testing::read_whole_file(repo_->path() / "demo.db.tar.zst");
    const auto cut = scratch_.write("cut.db", file.substr(0, file.size() / 2));
    auto result = read_repo_database_file(cut.string());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::parse) << result.error().message;
}

}  // namespace
}  // namespace bulkhead::archpkg
