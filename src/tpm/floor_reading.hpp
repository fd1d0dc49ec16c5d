// The anti-rollback floor as stored in the TPM, how a reading of it is interpreted, and the one
// line in which the initrd's floor reader (cmd/bulkhead-tpm-floor, ESAPI) reports it to the
// static /init. Shared by every reader so they all decide alike.
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
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::tpm {

// NV indices in the owner range (TPM 2.0 handle type 0x01).
inline constexpr std::uint32_t floor_counter_index = 0x0100B4D0;
inline constexpr std::uint32_t floor_base_index = 0x0100B4D1;

// Response codes the floor logic tells apart (TPM 2.0 Part 2, TPM_RC).
inline constexpr std::uint32_t rc_success = 0x000;
inline constexpr std::uint32_t rc_nv_uninitialized = 0x14A;  // never written (a counter never incremented)
inline constexpr std::uint32_t rc_nv_authorization = 0x149;
inline constexpr std::uint32_t rc_handle = 0x08B;  // format 1: no such index (0x18B for handle 1)

// Format-1 codes carry the number of the handle, session or parameter at fault in bits 8-11;
// this strips it so codes compare by their meaning.
std::uint32_t base_response_code(std::uint32_t rc);

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

// The reader's report of the two reads, one line:
//   "bulkhead-floor/1 provisioned COUNTER BASE\n" or "bulkhead-floor/1 not-provisioned\n"
// (decimal, no leading zeros). The reader passes C and B on as read, even B above C: the
// parser interprets them with interpret_floor, so the initrd decides from the TPM's values
// itself. A TPM error other than a missing or unwritten index is an error, not a report.
inline constexpr std::size_t max_floor_report_bytes = 128;
Result<std::string> floor_report(const IndexRead& counter, const IndexRead& base);
Result<FloorReading> parse_floor_report(std::string_view report);

}  // namespace bulkhead::tpm
