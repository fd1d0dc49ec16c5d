#include "verity/hash_tree.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <openssl/evp.h>

#include "base/bytes.hpp"
#include "base/file_io.hpp"
#include "base/text.hpp"
#include "verity/superblock.hpp"

namespace bulkhead::verity {

namespace {

constexpr std::size_t kReadChunk = std::size_t{1} << 20;
constexpr int kMaxLevels = 63;

struct MdContextDeleter {
    void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};
using MdContext = std::unique_ptr<EVP_MD_CTX, MdContextDeleter>;

const EVP_MD* message_digest(Algorithm algorithm) {
    return algorithm == Algorithm::sha512 ? EVP_sha512() : EVP_sha256();
}

// Hashes blocks as salt || block. The salt goes into a template context once; each block
// starts from a copy of it.
class SaltedHasher {
public:
    explicit SaltedHasher(const Parameters& parameters)
        : salted_(EVP_MD_CTX_new()),
          work_(EVP_MD_CTX_new()),
          size_(EVP_MD_get_size(message_digest(parameters.algorithm))) {
        ok_ = salted_ && work_ &&
              EVP_DigestInit_ex(salted_.get(), message_digest(parameters.algorithm), nullptr) == 1 &&
              EVP_DigestUpdate(salted_.get(), parameters.salt.data(), parameters.salt.size()) == 1;
    }
    [[nodiscard]] bool ok() const noexcept { return ok_; }
    [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(size_); }
    // Writes size() bytes to out.
    bool hash(const unsigned char* block, std::size_t length, unsigned char* out) {
        unsigned int written = 0;
        return EVP_MD_CTX_copy_ex(work_.get(), salted_.get()) == 1 &&
               EVP_DigestUpdate(work_.get(), block, length) == 1 && EVP_DigestFinal_ex(work_.get(), out, &written) == 1;
    }

private:
    MdContext salted_;
    MdContext work_;
    int size_;
    bool ok_ = false;
};

Result<void> read_exactly(int fd, unsigned char* buffer, std::size_t length, std::uint64_t offset, const char* what) {
    std::size_t done = 0;
    while (done < length) {
        const ssize_t got = ::pread(fd, buffer + done, length - done, static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(Error::from_errno(errno, std::string("reading the ") + what));
        if (got == 0) return fail(ErrorCode::io, std::string("the ") + what + " ended early");
        done += static_cast<std::size_t>(got);
    }
    return {};
}

Result<void> write_exactly(int fd, const unsigned char* buffer, std::size_t length, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < length) {
        const ssize_t put = ::pwrite(fd, buffer + done, length - done, static_cast<off_t>(offset + done));
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return fail(Error::from_errno(errno, "writing the hash tree"));
        done += static_cast<std::size_t>(put);
    }
    return {};
}

}  // namespace

Result<HashTree> build_hash_tree(int data_fd, std::uint64_t data_bytes, int hash_fd, const Parameters& parameters) {
    if (auto checked = check_parameters(parameters); !checked) return fail(checked.error());
    if (data_bytes == 0 || data_bytes % parameters.data_block_size != 0) {
        return fail(
            ErrorCode::invalid_argument,
            concat({"verity data must be a non-empty whole number of ", std::to_string(parameters.data_block_size),
                    "-byte blocks (it is ", std::to_string(data_bytes), " bytes)"}));
    }
    SaltedHasher hasher(parameters);
    if (!hasher.ok()) return fail(ErrorCode::internal, "cannot set up the verity digest");
    const std::size_t digest = hasher.size();
    const std::uint64_t hash_block = parameters.hash_block_size;
    const std::uint64_t per_block = [&] {
        std::uint64_t fitting = hash_block / digest;
        std::uint64_t power = 1;
        while (power * 2 <= fitting) power *= 2;
        return power;  // digests per hash block: a power of two
    }();
    unsigned per_block_bits = 0;
    while ((std::uint64_t{1} << per_block_bits) < per_block) ++per_block_bits;

    HashTree tree;
    tree.data_blocks = data_bytes / parameters.data_block_size;
    // Levels: as many as it takes for the top one to be a single block (none for one data block).
    int levels = 0;
    while (per_block_bits * static_cast<unsigned>(levels) < 64 &&
           ((tree.data_blocks - 1) >> (per_block_bits * static_cast<unsigned>(levels))) != 0) {
        ++levels;
    }
    if (levels > kMaxLevels) return fail(ErrorCode::too_large, "verity data too large");
    tree.hash_start_block = parameters.superblock ? (kSuperblockBytes + hash_block - 1) / hash_block : 0;
    std::vector<std::uint64_t> level_start(static_cast<std::size_t>(levels));
    std::vector<std::uint64_t> level_blocks(static_cast<std::size_t>(levels));
    std::uint64_t position = tree.hash_start_block;
    for (int level = levels - 1; level >= 0; --level) {
        const unsigned shift = per_block_bits * static_cast<unsigned>(level + 1);
        const std::uint64_t blocks = shift >= 64 ? 1 : ((tree.data_blocks - 1) >> shift) + 1;
        level_start[static_cast<std::size_t>(level)] = position;
        level_blocks[static_cast<std::size_t>(level)] = blocks;
        position += blocks;
    }
    tree.hash_bytes = position * hash_block;

    if (parameters.superblock) {
        std::vector<unsigned char> superblock(hash_block * tree.hash_start_block, 0);
        std::memcpy(superblock.data(), "verity\0\0", 8);
        store_le(&superblock[8], 1, 4);   // superblock version
        store_le(&superblock[12], 1, 4);  // hash type: normal (salt first)
        std::memcpy(&superblock[16], parameters.uuid.data(), parameters.uuid.size());
        const std::string_view name = algorithm_name(parameters.algorithm);
        std::memcpy(&superblock[32], name.data(), name.size());
        store_le(&superblock[64], parameters.data_block_size, 4);
        store_le(&superblock[68], parameters.hash_block_size, 4);
        store_le(&superblock[72], tree.data_blocks, 8);
        store_le(&superblock[80], parameters.salt.size(), 2);
        std::memcpy(&superblock[88], parameters.salt.data(), parameters.salt.size());
        if (auto written = write_exactly(hash_fd, superblock.data(), superblock.size(), 0); !written) {
            return fail(written.error());
        }
    }

    std::string root(digest, '\0');
    auto* root_out = reinterpret_cast<unsigned char*>(root.data());
    if (levels == 0) {
        std::vector<unsigned char> block(parameters.data_block_size);
        if (auto read = read_exactly(data_fd, block.data(), block.size(), 0, "verity data"); !read)
            return fail(read.error());
        if (!hasher.hash(block.data(), block.size(), root_out)) return fail(ErrorCode::internal, "hashing failed");
        tree.root_hash = std::move(root);
        return tree;
    }

    // Level 0 from the data, one hash block at a time.
    std::vector<unsigned char> input(kReadChunk);
    std::vector<unsigned char> output(hash_block, 0);
    std::size_t filled = 0;  // digests in `output`
    std::uint64_t out_block = level_start[0];
    auto flush = [&]() -> Result<void> {
        std::memset(output.data() + filled * digest, 0, hash_block - filled * digest);
        auto written = write_exactly(hash_fd, output.data(), output.size(), out_block * hash_block);
        ++out_block;
        filled = 0;
        return written;
    };
    const std::size_t data_block = parameters.data_block_size;
    for (std::uint64_t offset = 0; offset < data_bytes;) {
        const std::size_t length = static_cast<std::size_t>(std::min<std::uint64_t>(input.size(), data_bytes - offset));
        if (auto read = read_exactly(data_fd, input.data(), length, offset, "verity data"); !read)
            return fail(read.error());
        for (std::size_t at = 0; at < length; at += data_block) {
            if (!hasher.hash(input.data() + at, data_block, output.data() + filled * digest)) {
                return fail(ErrorCode::internal, "hashing failed");
            }
            if (++filled == per_block) {
                if (auto flushed = flush(); !flushed) return fail(flushed.error());
            }
        }
        offset += length;
    }
    if (filled > 0) {
        if (auto flushed = flush(); !flushed) return fail(flushed.error());
    }

    // Each higher level hashes the blocks of the one below, read back from the hash device.
    std::vector<unsigned char> below(hash_block);
    for (int level = 1; level < levels; ++level) {
        out_block = level_start[static_cast<std::size_t>(level)];
        const std::uint64_t first = level_start[static_cast<std::size_t>(level - 1)];
        for (std::uint64_t i = 0; i < level_blocks[static_cast<std::size_t>(level - 1)]; ++i) {
            if (auto read = read_exactly(hash_fd, below.data(), below.size(), (first + i) * hash_block, "hash tree");
                !read) {
                return fail(read.error());
            }
            if (!hasher.hash(below.data(), below.size(), output.data() + filled * digest)) {
                return fail(ErrorCode::internal, "hashing failed");
            }
            if (++filled == per_block) {
                if (auto flushed = flush(); !flushed) return fail(flushed.error());
            }
        }
        if (filled > 0) {
            if (auto flushed = flush(); !flushed) return fail(flushed.error());
        }
    }
    if (auto read = read_exactly(hash_fd, below.data(), below.size(),
                                 level_start[static_cast<std::size_t>(levels - 1)] * hash_block, "hash tree");
        !read) {
        return fail(read.error());
    }
    if (!hasher.hash(below.data(), below.size(), root_out)) return fail(ErrorCode::internal, "hashing failed");
    tree.root_hash = std::move(root);
    return tree;
}

}  // namespace bulkhead::verity
