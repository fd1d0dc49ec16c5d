#include "tpm/nv_read.hpp"

#include "base/text.hpp"

namespace bulkhead::tpm {

namespace {

constexpr std::uint16_t kTagNoSessions = 0x8001;
constexpr std::uint16_t kTagSessions = 0x8002;
constexpr std::uint32_t kCommandNvRead = 0x14E;
constexpr std::uint32_t kPasswordSession = 0x40000009;
constexpr std::size_t kHeaderSize = 10;
constexpr std::uint32_t kFormatOne = 0x080;

void append_be(std::string& out, std::uint64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}

std::uint64_t load_be(std::string_view bytes, std::size_t at, int width) {
    std::uint64_t value = 0;
    for (int i = 0; i < width; ++i) {
        value = value << 8U | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    }
    return value;
}

}  // namespace

std::uint32_t base_response_code(std::uint32_t rc) {
    if ((rc & kFormatOne) != 0) return rc & 0xBFU;
    return rc;
}

std::string nv_read_command(std::uint32_t nv_index, std::uint16_t size, std::uint16_t offset) {
    std::string command;
    append_be(command, kTagSessions, 2);
    append_be(command, 35, 4);
    append_be(command, kCommandNvRead, 4);
    append_be(command, nv_index, 4);  // authHandle: the index authorizes its own read (AUTHREAD)
    append_be(command, nv_index, 4);
    append_be(command, 9, 4);
    append_be(command, kPasswordSession, 4);
    append_be(command, 0, 2);  // nonce
    append_be(command, 0, 1);  // session attributes
    append_be(command, 0, 2);  // empty password
    append_be(command, size, 2);
    append_be(command, offset, 2);
    return command;
}

Result<std::uint32_t> response_size(std::string_view header) {
    if (header.size() < kHeaderSize) return fail(ErrorCode::parse, "a TPM response is shorter than its header");
    const auto tag = load_be(header, 0, 2);
    if (tag != kTagNoSessions && tag != kTagSessions) {
        return fail(ErrorCode::parse, concat({"a TPM response has the unknown tag ", hex(tag)}));
    }
    const auto size = load_be(header, 2, 4);
    if (size < kHeaderSize || size > max_response_size) {
        return fail(ErrorCode::parse, concat({"a TPM response announces an impossible size ", std::to_string(size)}));
    }
    return static_cast<std::uint32_t>(size);
}

Result<NvReadResponse> parse_nv_read_response(std::string_view response, std::uint16_t expected_size) {
    auto size = response_size(response);
    if (!size) return fail(size.error());
    if (*size != response.size()) {
        return fail(ErrorCode::parse, concat({"a TPM response announces ", std::to_string(*size), " bytes but has ",
                                              std::to_string(response.size())}));
    }
    const auto tag = load_be(response, 0, 2);
    NvReadResponse parsed;
    parsed.response_code = static_cast<std::uint32_t>(load_be(response, 6, 4));
    if (parsed.response_code != rc_success) {
        if (tag != kTagNoSessions || response.size() != kHeaderSize) {
            return fail(ErrorCode::parse, "a TPM error response carries more than its header");
        }
        return parsed;
    }
    const std::size_t expected_total = kHeaderSize + 4 + 2 + expected_size + 5;
    if (tag != kTagSessions || response.size() != expected_total) {
        return fail(ErrorCode::parse, concat({"a TPM2_NV_Read response has ", std::to_string(response.size()),
                                              " bytes, not ", std::to_string(expected_total)}));
    }
    if (load_be(response, 10, 4) != 2U + expected_size) {
        return fail(ErrorCode::parse, "a TPM2_NV_Read response has the wrong parameter size");
    }
    if (load_be(response, 14, 2) != expected_size) {
        return fail(ErrorCode::parse, "a TPM2_NV_Read response holds a different number of bytes than asked for");
    }
    const std::size_t session = 16 + expected_size;
    if (load_be(response, session, 2) != 0 || load_be(response, session + 3, 2) != 0) {
        return fail(ErrorCode::parse, "a TPM2_NV_Read response has a nonce or hmac in a password session");
    }
    parsed.data = std::string(response.substr(16, expected_size));
    return parsed;
}

}  // namespace bulkhead::tpm
