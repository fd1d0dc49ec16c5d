// Fuzzes TUF metadata parsing for every role type: hostile metadata may be refused, never crash,
// hang or exhaust memory; what is accepted must satisfy the rules the parser promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tuf/metadata.hpp"

namespace {

void check_common(const bulkhead::tuf::Common& common) {
    if (common.version < 1) std::abort();
    if (!bulkhead::tuf::check_spec_version(common.spec_version)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (auto root = bulkhead::tuf::parse_root(bytes)) {
        check_common(root->signed_part.common);
        if (root->signed_part.root.threshold < 1) std::abort();
    }
    if (auto timestamp = bulkhead::tuf::parse_timestamp(bytes)) {
        check_common(timestamp->signed_part.common);
        if (timestamp->signed_part.snapshot_meta.version < 1) std::abort();
    }
    if (auto snapshot = bulkhead::tuf::parse_snapshot(bytes)) check_common(snapshot->signed_part.common);
    if (auto targets = bulkhead::tuf::parse_targets(bytes)) {
        check_common(targets->signed_part.common);
        for (const auto& [path, file] : targets->signed_part.targets) {
            if (file.length < 0 || file.hashes.empty()) std::abort();
        }
        if (targets->signed_part.delegations && targets->signed_part.delegations->succinct &&
            (targets->signed_part.delegations->succinct->bit_length < 1 ||
             targets->signed_part.delegations->succinct->bit_length > 32)) {
            std::abort();
        }
    }
    return 0;
}
