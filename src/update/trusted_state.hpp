// The TUF metadata a core has accepted from update bundles: the roots newer than the one its
// image carries, and the newest timestamp and snapshot it trusted. The next bundle is verified
// against them (update::verify_bundle), so its metadata can never go back to older versions
// (TUF's rollback checks) even while older metadata has not expired, and a rotated root stays
// rotated. Kept on the ESP in bulkhead/tuf/ (the only partition every update already writes):
//   N.root.json         root version N (never replaced)
//   timestamp-V.json    the trusted timestamp, version V
//   snapshot-V.json     the trusted snapshot, version V
// Every file is written under a temporary name and renamed, and older versions are deleted
// only after the new one is in place, so a crash leaves at least one complete state. The ESP is
// not protected: everything read back is verified again through TUF, and whoever can write the
// disk can delete this baseline (docs/UPDATES.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "boot/esp.hpp"

namespace bulkhead::update {

struct TrustedState {
    std::vector<std::string> roots;  // ascending versions, after the image's own root
    std::optional<std::string> timestamp;
    std::optional<std::string> snapshot;

    friend bool operator==(const TrustedState&, const TrustedState&) = default;
};

inline constexpr const char* kTrustedStateDir = "bulkhead/tuf";

// What a name in kTrustedStateDir is (names come from the ESP, which anyone with the disk can
// write): one of our files with its version, a temporary one, or nullopt (not ours).
struct StateFileName {
    enum class Kind { root, timestamp, snapshot, temporary } kind = Kind::root;
    std::int64_t version = 0;  // 0 for temporary files
};
std::optional<StateFileName> parse_state_file_name(std::string_view name);

// The state on `esp`; empty when there is none yet. A file that is not the metadata and version
// its name promises is left out (and the roots after it): the state is only a baseline that
// verify_bundle checks again, and a core must stay updatable when its ESP is damaged.
Result<TrustedState> load_trusted_state(const boot::Esp& esp);

// Writes `state` (each file under a fresh temporary name, then renamed; a file it replaces goes
// only once the new one is complete), then deletes the timestamps, snapshots and temporary files
// it supersedes where it can: a file that cannot be deleted never stops a save.
Result<void> save_trusted_state(const boot::Esp& esp, const TrustedState& state);

}  // namespace bulkhead::update
