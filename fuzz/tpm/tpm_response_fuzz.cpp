// Fuzzes the initrd's parser of TPM2_NV_Read responses (a TPM, or whatever answers on its bus,
// is outside the verified image): any bytes may be refused, never crash; an accepted response
// holds exactly the asked-for bytes on success and nothing on a TPM error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tpm/nv_read.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // The first byte picks the size asked for; 8 (the floor) is the common case.
    const auto expected = static_cast<std::uint16_t>(data[0] % 16);
    const std::string_view response(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto parsed = bulkhead::tpm::parse_nv_read_response(response, expected);
    if (!parsed) return 0;
    if (parsed->response_code == bulkhead::tpm::rc_success ? parsed->data.size() != expected
                                                           : !parsed->data.empty() || response.size() != 10) {
        std::abort();
    }
    return 0;
}
