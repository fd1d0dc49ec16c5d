#include "tpm/floor_reading.hpp"

#include <string>

#include "base/text.hpp"
#include "tpm/nv_read.hpp"
#include "tpm/transport.hpp"

namespace bulkhead::tpm {

namespace {

bool absent(std::uint32_t rc) {
    const std::uint32_t code = base_response_code(rc);
    return code == rc_handle || code == rc_nv_uninitialized;
}

Result<IndexRead> read_index(int tpm_fd, std::uint32_t index) {
    auto response = transact(tpm_fd, nv_read_command(index, 8, 0));
    if (!response) return fail(response.error());
    auto parsed = parse_nv_read_response(*response, 8);
    if (!parsed) return fail(parsed.error());
    IndexRead read{.response_code = parsed->response_code, .value = 0};
    for (const char byte : parsed->data) read.value = read.value << 8U | static_cast<unsigned char>(byte);
    return read;
}

}  // namespace

Result<FloorReading> interpret_floor(const IndexRead& counter, const IndexRead& base) {
    for (const auto& [read, name] : {std::pair{&counter, "counter"}, std::pair{&base, "base"}}) {
        if (read->response_code != rc_success && !absent(read->response_code)) {
            return fail(ErrorCode::io, concat({"the TPM refused to read the floor ", name, " (TPM response code ",
                                               hex(read->response_code), ")"}));
        }
    }
    if (counter.response_code != rc_success || base.response_code != rc_success) return FloorReading{};
    if (base.value > counter.value) {
        return fail(ErrorCode::integrity,
                    concat({"the TPM floor base (", std::to_string(base.value), ") is above its counter (",
                            std::to_string(counter.value), "): the floor was tampered with"}));
    }
    return FloorReading{
        .provisioned = true, .floor = counter.value - base.value, .counter = counter.value, .base = base.value};
}

Result<FloorReading> read_floor(int tpm_fd) {
    auto counter = read_index(tpm_fd, floor_counter_index);
    if (!counter) return fail(counter.error());
    auto base = read_index(tpm_fd, floor_base_index);
    if (!base) return fail(base.error());
    return interpret_floor(*counter, *base);
}

}  // namespace bulkhead::tpm
