#include "base/text.hpp"
#include "verity/hash_tree.hpp"

namespace bulkhead::verity {

namespace {

constexpr std::size_t kMaxSalt = 256;

bool power_of_two_in_range(std::uint32_t size) { return size >= 512 && size <= 4096 && (size & (size - 1)) == 0; }

}  // namespace

std::string_view algorithm_name(Algorithm algorithm) noexcept {
    return algorithm == Algorithm::sha512 ? "sha512" : "sha256";
}

Result<void> check_parameters(const Parameters& parameters) {
    if (!power_of_two_in_range(parameters.data_block_size) || !power_of_two_in_range(parameters.hash_block_size)) {
        return fail(ErrorCode::invalid_argument, "verity block sizes must be powers of two from 512 to 4096 bytes");
    }
    if (parameters.salt.size() > kMaxSalt)
        return fail(ErrorCode::invalid_argument, "a verity salt is at most 256 bytes");
    return {};
}

std::string verity_table(const std::string& data_device, const std::string& hash_device, const HashTree& tree,
                         const Parameters& parameters) {
    return concat({"1 ", data_device, " ", hash_device, " ", std::to_string(parameters.data_block_size), " ",
                   std::to_string(parameters.hash_block_size), " ", std::to_string(tree.data_blocks), " ",
                   std::to_string(tree.hash_start_block), " ", algorithm_name(parameters.algorithm), " ",
                   hex_encode(tree.root_hash), " ", parameters.salt.empty() ? "-" : hex_encode(parameters.salt)});
}

}  // namespace bulkhead::verity
