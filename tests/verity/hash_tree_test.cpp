// Our dm-verity hash trees against veritysetup's (cryptsetup), byte for byte: root hash,
// superblock and every hash block, across data sizes that need 0 to 3 levels, block sizes,
// salts and algorithms.
#include "verity/hash_tree.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <random>

#include <gtest/gtest.h>

#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"
#include "support/temp_dir.hpp"
#include "verity/superblock.hpp"
#include "verity/tree_root.hpp"

namespace bulkhead::verity {
namespace {

std::string uuid_text(const std::array<std::uint8_t, 16>& uuid) {
    const std::string raw = hex_encode(std::string_view(reinterpret_cast<const char*>(uuid.data()), uuid.size()));
    return raw.substr(0, 8) + "-" + raw.substr(8, 4) + "-" + raw.substr(12, 4) + "-" + raw.substr(16, 4) + "-" +
           raw.substr(20);
}

struct Case {
    std::uint64_t data_blocks;
    std::uint32_t data_block_size;
    std::uint32_t hash_block_size;
    std::size_t salt_bytes;
    Algorithm algorithm;
    bool superblock;
};

class AgainstVeritysetup : public ::testing::TestWithParam<Case> {};

TEST_P(AgainstVeritysetup, RootHashAndHashDeviceAreIdentical) {
    const Case& c = GetParam();
    const testing::TempDir dir;
    std::mt19937_64 random(c.data_blocks * 7919U + c.salt_bytes);
    std::string data(c.data_blocks * c.data_block_size, '\0');
    for (char& byte : data) byte = static_cast<char>(random() & 0xffU);
    if (c.data_blocks > 2) std::fill(data.begin() + c.data_block_size, data.begin() + 2 * c.data_block_size, '\0');
    const auto data_path = dir.write("data.img", data);

    Parameters parameters;
    parameters.algorithm = c.algorithm;
    parameters.data_block_size = c.data_block_size;
    parameters.hash_block_size = c.hash_block_size;
    parameters.superblock = c.superblock;
    for (std::size_t i = 0; i < c.salt_bytes; ++i) parameters.salt.push_back(static_cast<char>(random() & 0xffU));
    for (auto& byte : parameters.uuid) byte = static_cast<std::uint8_t>(random() & 0xffU);
    parameters.uuid[6] = static_cast<std::uint8_t>((parameters.uuid[6] & 0x0fU) | 0x40U);  // a version-4 UUID
    parameters.uuid[8] = static_cast<std::uint8_t>((parameters.uuid[8] & 0x3fU) | 0x80U);

    const UniqueFd data_fd(::open(data_path.c_str(), O_RDONLY | O_CLOEXEC));
    const std::string ours_path = (dir.path() / "ours.hash").string();
    const UniqueFd hash_fd(::open(ours_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    auto tree = build_hash_tree(data_fd.get(), data.size(), hash_fd.get(), parameters);
    ASSERT_TRUE(tree) << tree.error().message;
    EXPECT_EQ(tree->data_blocks, c.data_blocks);

    const std::string theirs_path = (dir.path() / "theirs.hash").string();
    std::vector<std::string> argv = {"/usr/sbin/veritysetup",
                                     "format",
                                     data_path.string(),
                                     theirs_path,
                                     "--hash=" + std::string(algorithm_name(c.algorithm)),
                                     "--data-block-size=" + std::to_string(c.data_block_size),
                                     "--hash-block-size=" + std::to_string(c.hash_block_size),
                                     "--salt=" + (c.salt_bytes == 0 ? std::string("-") : hex_encode(parameters.salt))};
    if (c.superblock) {
        argv.push_back("--uuid=" + uuid_text(parameters.uuid));
    } else {
        argv.emplace_back("--no-superblock");
    }
    auto theirs = run_program_checked(argv);
    ASSERT_TRUE(theirs) << theirs.error().message;
    EXPECT_NE(theirs->out.find("Root hash:      \t" + hex_encode(tree->root_hash)), std::string::npos) << theirs->out;
    const std::string their_bytes = testing::read_whole_file(theirs_path);
    const std::string our_bytes = testing::read_whole_file(ours_path);
    EXPECT_EQ(our_bytes.size(), tree->hash_bytes);
    EXPECT_EQ(our_bytes.size(), their_bytes.size());
    EXPECT_TRUE(our_bytes == their_bytes) << "the hash devices differ";
    if (c.superblock) {
        // What veritysetup wrote reads back as the parameters it was given.
        auto superblock = parse_superblock(their_bytes);
        ASSERT_TRUE(superblock) << superblock.error().message;
        EXPECT_EQ(superblock->data_blocks, c.data_blocks);
        EXPECT_EQ(superblock->parameters.salt, parameters.salt);
        EXPECT_EQ(superblock->parameters.uuid, parameters.uuid);
        EXPECT_EQ(superblock->parameters.algorithm, c.algorithm);
        EXPECT_EQ(superblock->parameters.data_block_size, c.data_block_size);
        EXPECT_EQ(superblock->parameters.hash_block_size, c.hash_block_size);
        EXPECT_EQ(layout_of(*superblock, tree->root_hash).hash_start_block, tree->hash_start_block);
        // The root hash veritysetup printed, read back from its hash device alone (at an offset,
        // as from a partition of a disk).
        const std::string on_disk = std::string(1024, 'x') + their_bytes;
        const auto disk_path = dir.write("disk.img", on_disk);
        const UniqueFd disk_fd(::open(disk_path.c_str(), O_RDONLY | O_CLOEXEC));
        auto root = root_hash_of_tree(disk_fd.get(), 1024);
        if (c.data_blocks < 2) {
            EXPECT_FALSE(root);  // no hash level: the root hash is the data block's own
        } else {
            ASSERT_TRUE(root) << root.error().message;
            EXPECT_EQ(hex_encode(*root), hex_encode(tree->root_hash));
        }
    }

    // veritysetup accepts our hash device for the data, and refuses it after one flipped byte.
    const std::vector<std::string> verify = {"/usr/sbin/veritysetup", "verify", data_path.string(), ours_path,
                                             hex_encode(tree->root_hash)};
    std::vector<std::string> verify_args = verify;
    if (!c.superblock) {
        for (const std::string& option : std::vector<std::string>{
                 "--no-superblock", "--hash=" + std::string(algorithm_name(c.algorithm)),
                 "--data-block-size=" + std::to_string(c.data_block_size),
                 "--hash-block-size=" + std::to_string(c.hash_block_size),
                 "--salt=" + (c.salt_bytes == 0 ? std::string("-") : hex_encode(parameters.salt))}) {
            verify_args.push_back(option);
        }
    }
    auto verified = run_program(verify_args);
    ASSERT_TRUE(verified);
    EXPECT_EQ(verified->exit_code, 0) << verified->err;
    data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 1);
    dir.write("data.img", data);
    auto corrupted = run_program(verify_args);
    ASSERT_TRUE(corrupted);
    EXPECT_NE(corrupted->exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Cases, AgainstVeritysetup,
                         ::testing::Values(Case{1, 4096, 4096, 32, Algorithm::sha256, true},      // no levels
                                           Case{2, 4096, 4096, 32, Algorithm::sha256, true},      // one level
                                           Case{129, 4096, 4096, 32, Algorithm::sha256, true},    // two levels
                                           Case{16385, 4096, 4096, 32, Algorithm::sha256, true},  // three levels
                                           Case{300, 4096, 4096, 0, Algorithm::sha256, true},     // no salt
                                           Case{300, 4096, 4096, 256, Algorithm::sha256,
                                                false},  // longest salt, no superblock
                                           Case{1000, 1024, 512, 17, Algorithm::sha256, true},  // small blocks
                                           Case{1000, 512, 4096, 32, Algorithm::sha256, true},
                                           Case{500, 4096, 4096, 32, Algorithm::sha512, true}));

TEST(HashTree, BadInputIsRefused) {
    const testing::TempDir dir;
    const auto data_path = dir.write("data.img", std::string(4095, 'x'));
    const UniqueFd data_fd(::open(data_path.c_str(), O_RDONLY | O_CLOEXEC));
    const UniqueFd hash_fd(::open((dir.path() / "hash").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    Parameters parameters;
    auto partial = build_hash_tree(data_fd.get(), 4095, hash_fd.get(), parameters);
    ASSERT_FALSE(partial);
    EXPECT_NE(partial.error().message.find("whole number of 4096-byte blocks"), std::string::npos);
    EXPECT_FALSE(build_hash_tree(data_fd.get(), 0, hash_fd.get(), parameters));
    EXPECT_FALSE(build_hash_tree(data_fd.get(), 8192, hash_fd.get(), parameters));  // the data is shorter
    parameters.data_block_size = 3000;
    EXPECT_FALSE(check_parameters(parameters));
    parameters.data_block_size = 4096;
    parameters.salt = std::string(257, 's');
    EXPECT_FALSE(check_parameters(parameters));
}

TEST(Superblock, MalformedOnesAreRefused) {
    const testing::TempDir dir;
    const auto data_path = dir.write("data.img", std::string(8192, 'd'));
    const UniqueFd data_fd(::open(data_path.c_str(), O_RDONLY | O_CLOEXEC));
    const UniqueFd hash_fd(::open((dir.path() / "hash").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    Parameters parameters;
    parameters.salt = "salt";
    ASSERT_TRUE(build_hash_tree(data_fd.get(), 8192, hash_fd.get(), parameters));
    const std::string good = testing::read_whole_file(dir.path() / "hash").substr(0, kSuperblockBytes);
    ASSERT_TRUE(parse_superblock(good));
    auto with = [&](std::size_t at, std::string_view bytes) {
        std::string changed = good;
        changed.replace(at, bytes.size(), bytes);
        return parse_superblock(changed);
    };
    EXPECT_FALSE(parse_superblock(good.substr(0, 511)));
    EXPECT_FALSE(with(0, "Verity"));                             // signature
    EXPECT_FALSE(with(8, std::string("\x02", 1)));               // version
    EXPECT_FALSE(with(12, std::string("\x00", 1)));              // Chrome OS hash type
    EXPECT_FALSE(with(32, std::string("md5\0\0\0", 6)));         // algorithm
    EXPECT_FALSE(with(32, std::string("sha256\0x", 8)));         // bytes after the name
    EXPECT_FALSE(with(64, std::string("\x00\x30\x00\x00", 4)));  // 12288-byte blocks
    EXPECT_FALSE(with(72, std::string(8, '\0')));                // no data blocks
    EXPECT_FALSE(with(80, std::string("\x01\x01", 2)));          // 257-byte salt
}

TEST(HashTree, TheKernelTableNamesEverything) {
    HashTree tree;
    tree.root_hash = std::string("\x01\xab", 2);
    tree.data_blocks = 10;
    tree.hash_start_block = 1;
    Parameters parameters;
    parameters.salt = std::string("\xff\x00", 2);
    EXPECT_EQ(verity_table("/dev/vda2", "/dev/vda3", tree, parameters),
              "1 /dev/vda2 /dev/vda3 4096 4096 10 1 sha256 01ab ff00");
}

}  // namespace
}  // namespace bulkhead::verity
