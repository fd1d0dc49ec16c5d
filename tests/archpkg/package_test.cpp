// Reading real makepkg packages, and refusing every way a package can disagree with its own
// .MTREE or break the layout rules. Tampered copies are rewritten member by member from the
// real package, so each differs from it in exactly one way.
#include "archpkg/package.hpp"

#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include <gtest/gtest.h>

#include "archpkg/sample_packages.hpp"
#include "base/text.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::archpkg {
namespace {

using testing::find_member;
using testing::Member;
using testing::read_members;
using testing::read_whole_file;
using testing::SamplePackages;
using testing::write_members;

class PackageTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { samples_ = new SamplePackages(); }
    static void TearDownTestSuite() {
        delete samples_;
        samples_ = nullptr;
    }

    // A copy of the app package with `change` applied to its members.
    Result<Package> read_changed(const std::function<void(std::vector<Member>&)>& change,
                                 int filter = ARCHIVE_FILTER_ZSTD) {
        auto members = read_members(samples_->app);
        change(members);
        const auto path = scratch_.path() / "changed.pkg.tar";
        write_members(path, members, filter);
        return read_package_file(path.string());
    }

    static void expect_refused(const Result<Package>& result, ErrorCode code, const std::string& message_part) {
        ASSERT_FALSE(result) << "accepted a package that should be refused (" << message_part << ")";
        EXPECT_EQ(result.error().code, code) << result.error().message;
        EXPECT_NE(result.error().message.find(message_part), std::string::npos) << result.error().message;
    }

    static SamplePackages* samples_;
    testing::TempDir scratch_;
};

SamplePackages* PackageTest::samples_ = nullptr;

TEST_F(PackageTest, ReadsAMakepkgPackageWholeAndHashesItsFile) {
    auto package = read_package_file(samples_->app.string());
    ASSERT_TRUE(package) << package.error().message;
    const auto& info = package->info;
    EXPECT_EQ(info.name, "demo-app");
    EXPECT_EQ(info.base, "demo-app");
    EXPECT_EQ(info.version, "1:2.1.0-3");
    EXPECT_EQ(info.arch, "x86_64");
    EXPECT_EQ(info.build_date, 1700000000);
    EXPECT_EQ(info.packager, "Bulkhead Tests <tests@bulkhead.invalid>");
    EXPECT_EQ(info.licenses, (std::vector<std::string>{"MIT", "Apache-2.0"}));
    EXPECT_EQ(info.groups, (std::vector<std::string>{"demo-group"}));
    EXPECT_EQ(info.backup, (std::vector<std::string>{"etc/demo.conf"}));
    ASSERT_EQ(info.depends.size(), 2U);
    EXPECT_EQ(info.depends[0], (Dependency{"demo-lib", Relation::greater_equal, "1.0"}));
    EXPECT_EQ(info.depends[1], (Dependency{"sh", Relation::any, ""}));
    ASSERT_EQ(info.provides.size(), 1U);
    EXPECT_EQ(info.provides[0], (Dependency{"demo", Relation::equal, "2.1.0"}));
    ASSERT_EQ(info.optional_depends.size(), 1U);
    EXPECT_EQ(info.optional_depends[0].dependency.name, "demo-extra");
    EXPECT_EQ(info.optional_depends[0].description, "more demos");
    ASSERT_EQ(info.conflicts.size(), 1U);
    EXPECT_EQ(info.conflicts[0], (Dependency{"old-demo", Relation::less, "2"}));

    // makepkg 6.0.2 writes BUILDINFO format 2 and an md5-carrying .MTREE.
    EXPECT_EQ(package->build.format, 2);
    EXPECT_EQ(package->build.version, "1:2.1.0-3");
    EXPECT_EQ(package->build.build_tool, "makepkg");
    EXPECT_EQ(package->build.pkgbuild_sha256,
              hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, testing::kAppPkgbuild)));
    EXPECT_TRUE(package->mtree.has_md5);
    EXPECT_TRUE(package->has_install_script);

    const auto file = read_whole_file(samples_->app);
    EXPECT_EQ(package->sha256, crypto::digest(crypto::HashAlgorithm::sha256, file));
    EXPECT_EQ(package->sha512, crypto::digest(crypto::HashAlgorithm::sha512, file));
    EXPECT_EQ(package->file_size, file.size());
    // Each file once: the hard link shares its target's data.
    EXPECT_EQ(package->payload_bytes, 20U + 17U + 19U + 8U + 10U + 0U + 300000U);

    const auto listed = [&](const std::string& path) -> const MtreeEntry* {
        for (const auto& entry : package->mtree.entries) {
            if (entry.path == path) return &entry;
        }
        return nullptr;
    };
    const auto* symlink = listed("usr/bin/demo-symlink");
    ASSERT_NE(symlink, nullptr);
    EXPECT_EQ(symlink->type, EntryType::symlink);
    EXPECT_EQ(symlink->link, "demo");
    const auto* hardlink = listed("usr/bin/demo-hardlink");
    ASSERT_NE(hardlink, nullptr);
    EXPECT_EQ(hardlink->type, EntryType::file);
    EXPECT_EQ(hardlink->mode, 0755U);
    EXPECT_EQ(hardlink->sha256, crypto::digest(crypto::HashAlgorithm::sha256, "#!/bin/sh\necho demo\n"));
    ASSERT_NE(listed("usr/share/demo/name with spaces.txt"), nullptr);
    ASSERT_NE(listed("usr/share/demo/gr\xc3\xbcn.txt"), nullptr);
    ASSERT_NE(listed("usr/share/demo/back\\slash"), nullptr);
    ASSERT_NE(listed("usr/share/demo/empty-dir"), nullptr);
    EXPECT_EQ(listed("usr/share/demo/empty-dir")->type, EntryType::directory);
    ASSERT_NE(listed(".INSTALL"), nullptr);
    EXPECT_EQ(listed(".MTREE"), nullptr);
}

TEST_F(PackageTest, ReadsTheSamePackageCompressedWithXzGzipOrNothing) {
    for (const int filter : {ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_NONE}) {
        auto package = read_changed([](std::vector<Member>&) {}, filter);
        ASSERT_TRUE(package) << filter << ": " << package.error().message;
        EXPECT_EQ(package->info.name, "demo-app");
    }
}

TEST_F(PackageTest, RefusesOtherCompression) {
    expect_refused(read_changed([](std::vector<Member>&) {}, ARCHIVE_FILTER_BZIP2), ErrorCode::parse,
                   "cannot be read as a tar archive compressed with zstd, xz or gzip");
}

TEST_F(PackageTest, RefusesChangedContentsOfTheSameSize) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       find_member(members, "usr/bin/demo")->data = "#!/bin/sh\necho evil\n";
                   }),
                   ErrorCode::integrity, "'usr/bin/demo' do not match their sha256");
}

TEST_F(PackageTest, RefusesALongerFile) {
    expect_refused(
        read_changed([](std::vector<Member>& members) { find_member(members, "usr/share/demo/empty")->data = "x"; }),
        ErrorCode::integrity, "the size is 1 in the archive but 0 in .MTREE");
}

TEST_F(PackageTest, RefusesAFileThatMtreeDoesNotList) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       Member extra{testing::make_entry(), "extra\n"};
                       archive_entry_copy_pathname(extra.entry.get(), "usr/bin/sneaky");
                       archive_entry_set_filetype(extra.entry.get(), AE_IFREG);
                       archive_entry_set_perm(extra.entry.get(), 0755);
                       archive_entry_set_mtime(extra.entry.get(), 1700000000, 0);
                       members.push_back(std::move(extra));
                   }),
                   ErrorCode::integrity, "'usr/bin/sneaky' is in the package but not in its .MTREE");
}

TEST_F(PackageTest, RefusesAMissingFile) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       std::erase_if(members, [](const Member& m) { return m.path() == "etc/demo.conf"; });
                   }),
                   ErrorCode::integrity, "'etc/demo.conf' is listed in .MTREE but missing from the package");
}

TEST_F(PackageTest, RefusesAChangedSymlinkTarget) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       archive_entry_copy_symlink(find_member(members, "usr/bin/demo-symlink")->entry.get(),
                                                  "/etc/shadow");
                   }),
                   ErrorCode::integrity, "the link target is /etc/shadow in the archive but demo in .MTREE");
}

TEST_F(PackageTest, RefusesAnAddedSetuidBit) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       archive_entry_set_perm(find_member(members, "usr/bin/demo")->entry.get(), 04755);
                   }),
                   ErrorCode::integrity, "the mode is 04755 in the archive but 0755 in .MTREE");
}

TEST_F(PackageTest, RefusesAChangedOwner) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       archive_entry_set_uid(find_member(members, "etc/demo.conf")->entry.get(), 1000);
                   }),
                   ErrorCode::integrity, "the uid is 1000 in the archive but 0 in .MTREE");
}

TEST_F(PackageTest, RefusesAChangedPkginfo) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       auto& data = find_member(members, ".PKGINFO")->data;
                       data.replace(data.find("A demo app"), 10, "A demo APP");
                   }),
                   ErrorCode::integrity, "the contents of '.PKGINFO' do not match their sha256");
}

TEST_F(PackageTest, RefusesAPkginfoThatDisagreesWithBuildinfo) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       auto& data = find_member(members, ".PKGINFO")->data;
                       data.replace(data.find("pkgver = 1:2.1.0-3"), 18, "pkgver = 1:2.1.1-3");
                   }),
                   ErrorCode::integrity, ".PKGINFO and .BUILDINFO disagree on pkgver");
}

TEST_F(PackageTest, RefusesAPackageWithoutMtree) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       std::erase_if(members, [](const Member& m) { return m.path() == ".MTREE"; });
                   }),
                   ErrorCode::parse, "has no .MTREE before its payload");
}

TEST_F(PackageTest, RefusesMetadataAfterThePayload) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       const auto install = std::find_if(members.begin(), members.end(),
                                                         [](const Member& m) { return m.path() == ".INSTALL"; });
                       std::rotate(install, install + 1, members.end());
                   }),
                   ErrorCode::parse, "comes after the payload");
}

TEST_F(PackageTest, RefusesAnUnknownMetadataFile) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       Member extra{testing::make_entry(), "x\n"};
                       archive_entry_copy_pathname(extra.entry.get(), ".HOOK");
                       archive_entry_set_filetype(extra.entry.get(), AE_IFREG);
                       archive_entry_set_mtime(extra.entry.get(), 1700000000, 0);
                       members.insert(members.begin(), std::move(extra));
                   }),
                   ErrorCode::parse, "unknown metadata file '.HOOK'");
}

TEST_F(PackageTest, RefusesDeviceNodes) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       auto* member = find_member(members, "usr/share/demo/empty");
                       archive_entry_set_filetype(member->entry.get(), AE_IFCHR);
                       archive_entry_set_rdev(member->entry.get(), makedev(1, 3));
                   }),
                   ErrorCode::unsupported, "is a device, FIFO or socket");
}

TEST_F(PackageTest, RefusesMetadataThatMtreeDoesNotCover) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       archive_entry_xattr_add_entry(find_member(members, "usr/bin/demo")->entry.get(),
                                                     "security.capability", "\x01\x00\x00\x02", 4);
                   }),
                   ErrorCode::unsupported, "carries extended attributes, ACLs or file flags");
}

TEST_F(PackageTest, RefusesAHardLinkThatCarriesData) {
    // libarchive writes no data for hard links, so the entry is written as a file with data and
    // its tar header is then turned into a hard link by hand (type '1', link name, checksum).
    auto members = read_members(samples_->app);
    auto* link = find_member(members, "usr/bin/demo-hardlink");
    archive_entry_copy_hardlink(link->entry.get(), nullptr);
    archive_entry_set_filetype(link->entry.get(), AE_IFREG);
    link->data = "#!/bin/sh\necho evil\n";
    // A uid too large for ustar makes the writer put a pax header before the entry, and for pax
    // archives libarchive (and bsdtar, which would then write the data over the linked file)
    // reads a hard link's data.
    archive_entry_set_uid(link->entry.get(), 3000000);
    const auto path = scratch_.path() / "hardlink-with-data.pkg.tar";
    write_members(path, members, ARCHIVE_FILTER_NONE);
    auto tar = read_whole_file(path);
    bool patched = false;
    for (std::size_t block = 0; block + 512 <= tar.size(); block += 512) {
        if (tar.compare(block, 21, "usr/bin/demo-hardlink") != 0 || tar[block + 21] != '\0') continue;
        tar[block + 156] = '1';
        tar.replace(block + 157, 12, std::string("usr/bin/demo", 12));
        std::fill_n(tar.begin() + static_cast<std::ptrdiff_t>(block + 148), 8, ' ');
        unsigned sum = 0;
        for (std::size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(tar[block + i]);
        char checksum[8];
        std::snprintf(checksum, sizeof checksum, "%06o", sum);
        tar.replace(block + 148, 7, std::string(checksum, 6) + '\0');
        patched = true;
    }
    ASSERT_TRUE(patched);
    scratch_.write("hardlink-with-data.pkg.tar", tar);
    expect_refused(read_package_file(path.string()), ErrorCode::parse, "is not a regular file but carries data");
}

TEST_F(PackageTest, RefusesPathsOutsideThePackageRoot) {
    for (const std::string path : {"../etc/passwd", "/etc/passwd", "usr/../../etc/passwd", "usr//bin"}) {
        expect_refused(read_changed([&](std::vector<Member>& members) {
                           archive_entry_copy_pathname(find_member(members, "etc/demo.conf")->entry.get(),
                                                       path.c_str());
                       }),
                       ErrorCode::parse, "path '" + path + "'");
    }
}

TEST_F(PackageTest, RefusesAnEntryTwice) {
    expect_refused(
        read_changed([](std::vector<Member>& members) {
            Member copy{{archive_entry_clone(find_member(members, "etc/demo.conf")->entry.get()), archive_entry_free},
                        find_member(members, "etc/demo.conf")->data};
            members.push_back(std::move(copy));
        }),
        ErrorCode::integrity, "has 'etc/demo.conf' twice");
}

TEST_F(PackageTest, RefusesAHardLinkToALaterOrMissingFile) {
    expect_refused(read_changed([](std::vector<Member>& members) {
                       archive_entry_copy_hardlink(find_member(members, "usr/bin/demo-hardlink")->entry.get(),
                                                   "usr/bin/nothing");
                   }),
                   ErrorCode::parse, "points to a file that is not earlier in the package");
}

TEST_F(PackageTest, RefusesATruncatedPackageAtEveryCut) {
    const auto file = read_whole_file(samples_->app);
    for (const double fraction : {0.0, 0.1, 0.5, 0.9, 0.999}) {
        const auto cut = scratch_.write(
            "cut.pkg.tar.zst", file.substr(0, static_cast<std::size_t>(static_cast<double>(file.size()) * fraction)));
        auto result = read_package_file(cut.string());
        ASSERT_FALSE(result) << "a package cut at " << fraction << " was accepted";
        EXPECT_TRUE(result.error().code == ErrorCode::parse || result.error().code == ErrorCode::integrity)
            << result.error().message;
    }
}

TEST_F(PackageTest, RefusesFilesAboveTheBounds) {
    ArchiveLimits small;
    small.max_raw_bytes = 1000;
    auto too_big = read_package_file(samples_->app.string(), small);
    ASSERT_FALSE(too_big);
    EXPECT_EQ(too_big.error().code, ErrorCode::too_large) << too_big.error().message;

    ArchiveLimits few;
    few.max_entries = 5;
    auto too_many = read_package_file(samples_->app.string(), few);
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, ErrorCode::too_large) << too_many.error().message;

    ArchiveLimits little_data;
    little_data.max_data_bytes = 100000;
    auto unpacks_too_far = read_package_file(samples_->app.string(), little_data);
    ASSERT_FALSE(unpacks_too_far);
    EXPECT_EQ(unpacks_too_far.error().code, ErrorCode::too_large) << unpacks_too_far.error().message;
}

TEST_F(PackageTest, RefusesSomethingThatIsNotAPackage) {
    const auto text = scratch_.write("not-a-package.pkg.tar.zst", "just text, not an archive\n");
    auto result = read_package_file(text.string());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::parse) << result.error().message;
    auto directory = read_package_file(scratch_.str());
    ASSERT_FALSE(directory);
    EXPECT_EQ(directory.error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace bulkhead::archpkg
