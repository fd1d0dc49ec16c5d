// Fuzzes the initrd's parser of the floor reader's report line (the reader runs ESAPI against
// whatever answers on the TPM bus): any bytes may be refused, never crash; an accepted report
// is a floor the parser derived itself, counter minus base.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tpm/floor_reading.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view report(reinterpret_cast<const char*>(data), size);
    auto parsed = bulkhead::tpm::parse_floor_report(report);
    if (!parsed) return 0;
    if (size > bulkhead::tpm::max_floor_report_bytes) std::abort();
    if (parsed->provisioned ? parsed->base > parsed->counter || parsed->floor != parsed->counter - parsed->base
                            : parsed->floor != 0) {
        std::abort();
    }
    return 0;
}
