#include "verity/tree_root.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>

#include <openssl/evp.h>

#include "verity/superblock.hpp"

namespace bulkhead::verity {

namespace {

Result<std::string> read_at(int fd, std::uint64_t offset, std::size_t size) {
    std::string bytes(size, '\0');
    std::size_t done = 0;
    while (done < size) {
        const ssize_t got = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(Error::from_errno(errno, "reading the verity hash tree"));
        if (got == 0) return fail(ErrorCode::parse, "the verity hash tree ends early");
        done += static_cast<std::size_t>(got);
    }
    return bytes;
}

}  // namespace

Result<std::string> root_hash_of_tree(int fd, std::uint64_t offset) {
    auto header = read_at(fd, offset, kSuperblockBytes);
    if (!header) return fail(header.error());
    auto superblock = parse_superblock(*header);
    if (!superblock) return fail(superblock.error());
    const Parameters& parameters = superblock->parameters;
    if (superblock->data_blocks < 2) {
        return fail(ErrorCode::unsupported, "a tree over a single block has no hash block to read its root from");
    }
    // The levels follow the superblock's block, the single top-level block first.
    const HashTree tree = layout_of(*superblock, {});
    auto top = read_at(fd, offset + tree.hash_start_block * parameters.hash_block_size, parameters.hash_block_size);
    if (!top) return fail(top.error());
    const EVP_MD* algorithm = parameters.algorithm == Algorithm::sha512 ? EVP_sha512() : EVP_sha256();
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    const bool done = context != nullptr && EVP_DigestInit_ex(context, algorithm, nullptr) == 1 &&
                      EVP_DigestUpdate(context, parameters.salt.data(), parameters.salt.size()) == 1 &&
                      EVP_DigestUpdate(context, top->data(), top->size()) == 1 &&
                      EVP_DigestFinal_ex(context, digest.data(), &length) == 1;
    EVP_MD_CTX_free(context);
    if (!done) return fail(ErrorCode::internal, "hashing the verity tree's top block failed");
    return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

}  // namespace bulkhead::verity
