// The anti-rollback floor as stored in the TPM, and how a reading of it is interpreted. Shared
// by the initrd (raw commands) and the update tool (ESAPI, src/floor), so both decide alike.
//
// A new NV counter starts one above the largest value any deleted counter ever had, so its
// starting value is unknown. The floor is therefore the counter C minus a base B written once,
// at provisioning, with C's value and then write-locked:
//   floor = C - B
// Raising the floor by one is one TPM2_NV_Increment of C: atomic, so a crash leaves a floor
// that is still monotonic. The floor counts security versions, which the signed image metadata
// declares, not image versions, so the counter wears little.
#pragma once

#include <cstdint>

#include "base/result.hpp"

namespace bulkhead::tpm {

// NV indices in the owner range (TPM 2.0 handle type 0x01).
inline constexpr std::uint32_t floor_counter_index = 0x0100B4D0;
inline constexpr std::uint32_t floor_base_index = 0x0100B4D1;

struct FloorReading {
    bool provisioned = false;  // false: this TPM has no floor yet, which counts as floor 0
    std::uint64_t floor = 0;
    std::uint64_t counter = 0;
    std::uint64_t base = 0;
};

// One NV read: its TPM response code and, when that is success, the 8-byte big-endian value.
struct IndexRead {
    std::uint32_t response_code = 0;
    std::uint64_t value = 0;
};

// Decides the floor from the reads of C and B. Missing or never-written indices mean "not
// provisioned" (first boot, or a TPM that was cleared: see docs/UPDATES.md for that residual
// risk); any other TPM error, or B above C, is an error, so the caller refuses to boot rather
// than guess.
Result<FloorReading> interpret_floor(const IndexRead& counter, const IndexRead& base);

// Reads the floor with raw TPM2_NV_Read commands over `tpm_fd` (/dev/tpmrm0 or a test socket).
Result<FloorReading> read_floor(int tpm_fd);

}  // namespace bulkhead::tpm
