// The one TPM 2.0 command the static initrd sends itself: TPM2_NV_Read with an empty password
// session, as raw bytes. Debian 12 ships no static tpm2-tss, so the initrd cannot use ESAPI;
// the update tool, which may link shared libraries, uses ESAPI (src/floor) and its tests
// check that both read the same values from the same TPM.
//
// Formats (TPM 2.0 Library, Part 3, NV_Read; all integers big-endian):
//   command  = tag 0x8002 (sessions) | size u32 | TPM_CC_NV_Read 0x14E | authHandle u32 |
//              nvIndex u32 | authorizationSize u32 = 9 | TPM_RS_PW 0x40000009 | nonce size
//              u16 = 0 | session attributes u8 = 0 | hmac size u16 = 0 | size u16 | offset u16
//   success  = tag 0x8002 | size u32 | rc u32 = 0 | parameterSize u32 | TPM2B data |
//              nonce size u16 = 0 | session attributes u8 | hmac size u16 = 0
//   failure  = tag 0x8001 | size u32 = 10 | rc u32
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace bulkhead::tpm {

// Response codes the floor logic tells apart (TPM 2.0 Part 2, TPM_RC).
inline constexpr std::uint32_t rc_success = 0x000;
inline constexpr std::uint32_t rc_nv_uninitialized = 0x14A;  // never written (a counter never incremented)
inline constexpr std::uint32_t rc_nv_authorization = 0x149;
inline constexpr std::uint32_t rc_handle = 0x08B;  // format 1: no such index (0x18B for handle 1)

// Format-1 codes carry the number of the handle, session or parameter at fault in bits 8-11;
// this strips it so codes compare by their meaning.
std::uint32_t base_response_code(std::uint32_t rc);

// The largest response this codec accepts: NV reads here are at most 8 bytes.
inline constexpr std::size_t max_response_size = 4096;

std::string nv_read_command(std::uint32_t nv_index, std::uint16_t size, std::uint16_t offset);

struct NvReadResponse {
    std::uint32_t response_code = rc_success;
    std::string data;  // exactly the requested size when response_code is rc_success
};

// Parses the TPM's answer to nv_read_command(…, expected_size, …). A TPM error is a value
// (response_code); only an answer that breaks the format is an error.
Result<NvReadResponse> parse_nv_read_response(std::string_view response, std::uint16_t expected_size);

// The total size a response announces in its header, once `header` holds its first 10 bytes.
Result<std::uint32_t> response_size(std::string_view header);

}  // namespace bulkhead::tpm
