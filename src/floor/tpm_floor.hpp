// Provisions, reads and raises the anti-rollback floor in the TPM through ESAPI, for the update
// tool and for the initrd's floor reader (cmd/bulkhead-tpm-floor). The meaning of the two NV
// indices (floor = counter - base) lives in tpm/floor_reading.hpp, so every reader decides alike.
//
// Provisioning is resumable: each step checks what a crash may have left and continues. The
// floor only ever rises; raising it is one TPM2_NV_Increment per step, each atomic in the TPM.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "tpm/floor_reading.hpp"

namespace bulkhead::floor {

// The TPM of this machine, through the kernel's resource manager.
inline constexpr const char* default_tcti = "device:/dev/tpmrm0";

// Raising the floor by more than this at once is refused: security versions grow by one per
// fixed vulnerability class, and a typo must not burn through the counter (NV wear, and an
// image set that can never boot again).
inline constexpr std::uint64_t max_floor_step = 64;

class TpmFloor {
public:
    // `tcti` is a tpm2-tss TCTI configuration: "device:/dev/tpmrm0", or
    // "swtpm:host=127.0.0.1,port=P" in tests.
    static Result<TpmFloor> open(const std::string& tcti);

    TpmFloor(TpmFloor&& other) noexcept;
    TpmFloor& operator=(TpmFloor&& other) noexcept;
    ~TpmFloor();

    // Reads the floor; an unprovisioned TPM reads as floor 0, provisioned = false.
    Result<tpm::FloorReading> read();

    // Defines and initialises the counter and the write-locked base if they are missing, and
    // checks that existing indices have exactly the attributes this design depends on (an index
    // someone else defined at the same handle, say a writable one, is refused).
    Result<tpm::FloorReading> provision();

    // The two reads as the initrd's floor reader reports them (tpm::floor_report), B above C
    // included: the initrd interprets them itself.
    Result<std::string> report();

    // Provisions if needed, then raises the floor to `security_version` if it is below; never
    // lowers it. Returns the floor afterwards.
    Result<tpm::FloorReading> raise_to(std::uint64_t security_version);

private:
    struct Context;
    explicit TpmFloor(std::unique_ptr<Context> context);
    std::unique_ptr<Context> context_;
};

}  // namespace bulkhead::floor
