// Unpacking checked packages into an app's tree: the result equals what bsdtar unpacks from the
// same packages (types, modes, contents, link targets, hard links), conflicts between packages
// are refused, and no entry is ever written through a symlink.
#include "archpkg/tree_writer.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "archpkg/sample_packages.hpp"

namespace bulkhead::archpkg {
namespace {

namespace fs = std::filesystem;

struct Node {
    char type = '?';
    unsigned mode = 0;
    std::string contents;  // file contents or symlink target
    bool operator==(const Node&) const = default;
};

std::map<std::string, Node> picture(const fs::path& root) {
    std::map<std::string, Node> nodes;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        struct stat status {};
        EXPECT_EQ(::lstat(entry.path().c_str(), &status), 0);
        Node node;
        node.mode = status.st_mode & 07777U;
        if (S_ISDIR(status.st_mode)) {
            node.type = 'd';
        } else if (S_ISLNK(status.st_mode)) {
            node.type = 'l';
            node.contents = fs::read_symlink(entry.path()).string();
            node.mode = 0;  // symlink modes carry no meaning on Linux
        } else if (S_ISREG(status.st_mode)) {
            node.type = 'f';
            node.contents = testing::read_whole_file(entry.path());
        }
        nodes[entry.path().lexically_relative(root).string()] = node;
    }
    return nodes;
}

class TreeWriterTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { samples_ = new testing::SamplePackages(); }
    static void TearDownTestSuite() {
        delete samples_;
        samples_ = nullptr;
    }

    Result<void> unpack(TreeWriter& writer, const fs::path& package) {
        writer.set_package(package.filename().string());
        auto read = read_package_file(package.string(), {}, &writer);
        if (!read) return fail(read.error());
        return {};
    }

    // A tree root as TreeWriter needs it: ours, closed to everyone else.
    std::filesystem::path tree_dir(const std::string& name) {
        const auto dir = scratch_.mkdir(name);
        ::chmod(dir.c_str(), 0700);
        return dir;
    }

    static testing::SamplePackages* samples_;
    testing::TempDir scratch_;
};

testing::SamplePackages* TreeWriterTest::samples_ = nullptr;

TEST_F(TreeWriterTest, UnpacksWhatBsdtarUnpacks) {
    const auto ours = tree_dir("ours");
    auto writer = TreeWriter::open(ours.string());
    ASSERT_TRUE(writer) << writer.error().message;
    ASSERT_TRUE(unpack(**writer, samples_->app));
    ASSERT_TRUE(unpack(**writer, samples_->lib));
    ASSERT_TRUE((*writer)->finish());
    ::chmod(ours.c_str(), 0755);  // as bsdtar's reference directory, so the pictures compare

    const auto reference = scratch_.mkdir("bsdtar");
    for (const auto& package : {samples_->app, samples_->lib}) {
        const auto result = testing::run_process({"/usr/bin/bsdtar", "-xpf", package.string(), "-C", reference.string(),
                                                  "--exclude", ".PKGINFO", "--exclude", ".BUILDINFO", "--exclude",
                                                  ".MTREE", "--exclude", ".INSTALL"});
        ASSERT_EQ(result.exit_code, 0) << result.err;
    }
    const auto expected = picture(reference);
    EXPECT_EQ(picture(ours), expected);
    EXPECT_GT(expected.size(), 10U);
    // The hard link is one file with two names, as in the package.
    struct stat one {};
    struct stat two {};
    ASSERT_EQ(::stat((ours / "usr/bin/demo").c_str(), &one), 0);
    ASSERT_EQ(::stat((ours / "usr/bin/demo-hardlink").c_str(), &two), 0);
    EXPECT_EQ(one.st_ino, two.st_ino);
    EXPECT_EQ(one.st_mode & 07777U, 0755U);
}

TEST_F(TreeWriterTest, RefusesAFileThatTwoPackagesDeliver) {
    const auto tree = tree_dir("tree");
    auto writer = TreeWriter::open(tree.string());
    ASSERT_TRUE(writer);
    ASSERT_TRUE(unpack(**writer, samples_->app));
    auto again = unpack(**writer, samples_->app.parent_path() / samples_->app.filename());
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("file conflict: 'etc/demo.conf' is in both"), std::string::npos)
        << again.error().message;
}

TEST_F(TreeWriterTest, NeverWritesThroughASymlink) {
    const auto outside = scratch_.mkdir("outside");
    const auto tree = tree_dir("tree");
    auto writer = TreeWriter::open(tree.string());
    ASSERT_TRUE(writer);
    (*writer)->set_package("evil");
    MtreeEntry link;
    link.path = "escape";
    link.type = EntryType::symlink;
    link.link = outside.string();
    ASSERT_TRUE((*writer)->symlink(link));
    MtreeEntry file;
    file.path = "escape/planted";
    file.mode = 0644;
    auto planted = (*writer)->begin_file(file);
    ASSERT_FALSE(planted);
    EXPECT_NE(planted.error().message.find("would be written through a symlink"), std::string::npos)
        << planted.error().message;
    MtreeEntry directory;
    directory.path = "escape/dir";
    directory.type = EntryType::directory;
    directory.mode = 0755;
    EXPECT_FALSE((*writer)->directory(directory));
    EXPECT_TRUE(fs::is_empty(outside));
    // A file's name taken by a directory of another package is a conflict, not a merge.
    MtreeEntry plain;
    plain.path = "plain";
    plain.mode = 0644;
    ASSERT_TRUE((*writer)->begin_file(plain));
    ASSERT_TRUE((*writer)->end_file());
    (*writer)->set_package("other");
    directory.path = "plain";
    auto over = (*writer)->directory(directory);
    ASSERT_FALSE(over);
    EXPECT_NE(over.error().message.find("file conflict: 'plain' is in both evil and other"), std::string::npos)
        << over.error().message;
    // A file whose directory no package delivered.
    MtreeEntry orphan;
    orphan.path = "missing/file";
    auto orphaned = (*writer)->begin_file(orphan);
    ASSERT_FALSE(orphaned);
    EXPECT_NE(orphaned.error().message.find("comes before its directory"), std::string::npos);
}

TEST_F(TreeWriterTest, GivesDirectoriesTheirModesAtTheEnd) {
    const auto tree = tree_dir("tree");
    auto writer = TreeWriter::open(tree.string());
    ASSERT_TRUE(writer);
    MtreeEntry read_only;
    read_only.path = "read-only";
    read_only.type = EntryType::directory;
    read_only.mode = 0555;
    ASSERT_TRUE((*writer)->directory(read_only));
    MtreeEntry inside;
    inside.path = "read-only/file";
    inside.mode = 0644;
    ASSERT_TRUE((*writer)->begin_file(inside));  // the directory is still writable
    ASSERT_TRUE((*writer)->end_file());
    ASSERT_TRUE((*writer)->finish());
    struct stat status {};
    ASSERT_EQ(::stat((tree / "read-only").c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777U, 0555U);
    ::chmod((tree / "read-only").c_str(), 0755);  // so the scratch directory can be removed
}

TEST_F(TreeWriterTest, NeedsAnEmptyPrivateDirectory) {
    const auto open_to_others = scratch_.mkdir("open");
    ::chmod(open_to_others.c_str(), 0755);
    auto refused = TreeWriter::open(open_to_others.string());
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("mode 0700"), std::string::npos) << refused.error().message;
    const auto tree = tree_dir("tree");
    scratch_.write("tree/left-over", "x");
    auto writer = TreeWriter::open(tree.string());
    ASSERT_FALSE(writer);
    EXPECT_NE(writer.error().message.find("is not empty"), std::string::npos);
    EXPECT_FALSE(TreeWriter::open((scratch_.path() / "absent").string()));
}

TEST_F(TreeWriterTest, StopsAtATamperedPackage) {
    auto members = testing::read_members(samples_->app);
    testing::find_member(members, "usr/share/demo/large.txt")->data[1000] = 'y';
    const auto tampered = scratch_.path() / "tampered.pkg.tar.zst";
    testing::write_members(tampered, members);
    const auto tree = tree_dir("tree");
    auto writer = TreeWriter::open(tree.string());
    ASSERT_TRUE(writer);
    auto result = unpack(**writer, tampered);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::integrity);
    EXPECT_NE(result.error().message.find("large.txt' do not match their sha256"), std::string::npos);
}

}  // namespace
}  // namespace bulkhead::archpkg
