// Fuzzes the control channel as each side reads it: arbitrary bytes from the other end (a
// compromised guest, in the host's case) must never crash, hang or make the decoder hold more
// than one bounded frame; every message accepted must encode back to the same frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/messages.hpp"

using namespace bulkhead::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    FrameDecoder decoder;
    // Fed in uneven pieces, as a stream arrives.
    for (std::size_t at = 0, piece = 1; at < bytes.size(); at += piece, piece = piece % 7 + 1) {
        decoder.feed(bytes.substr(at, piece));
        for (int guard = 0; guard < 100000; ++guard) {
            auto next = decoder.next();
            if (next && !*next) break;
            if (!next) continue;
            if (decoder.buffered() > kHeaderBytes + kMaxPayload + 7) std::abort();
            auto message = from_frame(**next);
            if (!message) continue;
            auto again = to_frame(*message);
            if (!again || again->type != (*next)->type || again->payload != (*next)->payload) std::abort();
        }
    }
    return 0;
}
