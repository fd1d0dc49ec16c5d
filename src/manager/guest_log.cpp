#include "manager/guest_log.hpp"

#include <cctype>

#include "base/text.hpp"

namespace bulkhead::manager {

namespace {

// Characters a terminal acts on rather than shows, written as UTF-8: the C1 controls
// (U+0080-U+009F: CSI, OSC...) and the bidirectional overrides and isolates, which can make
// text read differently from what it is. Returns how many bytes of `sequence` (2 or 3) such a
// character takes, 0 if it is not one, and -1 if more bytes are needed to tell.
int hidden_control_length(std::string_view sequence) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(sequence[i]); };
    if (byte(0) == 0xC2) {
        if (sequence.size() < 2) return -1;
        return byte(1) >= 0x80 && byte(1) <= 0x9F ? 2 : 0;
    }
    if (byte(0) == 0xE2) {
        if (sequence.size() < 2) return -1;
        if (byte(1) != 0x80 && byte(1) != 0x81) return 0;
        if (sequence.size() < 3) return -1;
        const unsigned third = byte(2);
        const bool bidi = byte(1) == 0x80 ? (third == 0x8E || third == 0x8F || (third >= 0xAA && third <= 0xAE))
                                          : (third >= 0xA6 && third <= 0xA9);
        return bidi ? 3 : 0;
    }
    return 0;
}

}  // namespace

void GuestOutputFilter::emit(std::string& out, char c) {
    pending_.push_back(c);
    while (!pending_.empty()) {
        const int hidden = hidden_control_length(pending_);
        if (hidden < 0) return;  // wait for the rest of the character
        if (hidden > 0) {
            // Shown as its code point, e.g. <U+009B>.
            unsigned code = 0;
            if (hidden == 2) {
                code = static_cast<unsigned char>(pending_[1]);
            } else {
                code = 0x2000U | (static_cast<unsigned char>(pending_[1]) & 0x3FU) << 6U |
                       (static_cast<unsigned char>(pending_[2]) & 0x3FU);
            }
            std::string digits = hex(code, 4).substr(2);
            for (char& digit : digits) digit = static_cast<char>(std::toupper(static_cast<unsigned char>(digit)));
            out += "<U+" + digits + ">";
            pending_.erase(0, static_cast<std::size_t>(hidden));
            continue;
        }
        const auto byte = static_cast<unsigned char>(pending_.front());
        if ((byte < 0x20 && byte != '\n' && byte != '\t') || byte == 0x7f) {
            out.push_back('^');
            out.push_back(byte == 0x7f ? '?' : static_cast<char>(byte + 0x40));
        } else {
            out.push_back(pending_.front());
        }
        pending_.erase(0, 1);
    }
}

std::string GuestOutputFilter::filter(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (const char c : bytes) {
        if (at_line_start_) {
            held_.push_back(c);
            if (held_ == kNotePrefix) {
                out += "[app] ";
                out += held_;
            } else if (kNotePrefix.starts_with(held_)) {
                continue;  // still undecided
            } else {
                for (const char held : held_) emit(out, held);
            }
            held_.clear();
            at_line_start_ = c == '\n';
            continue;
        }
        emit(out, c);
        if (c == '\n') at_line_start_ = true;
    }
    return out;
}

std::string GuestOutputFilter::flush() {
    std::string out;
    for (const char held : held_) emit(out, held);
    out += pending_;  // an unfinished character: shown as it came
    pending_.clear();
    held_.clear();
    at_line_start_ = true;  // a note always starts on a line of its own
    return out;
}

RateLimit::Verdict RateLimit::check(std::uint64_t now_ms) {
    if (!started_ || now_ms - window_start_ >= window_ms_) {
        started_ = true;
        window_start_ = now_ms;
        used_ = 0;
    }
    ++used_;
    if (used_ <= burst_) return Verdict::allow;
    return used_ == burst_ + 1 ? Verdict::first_refusal : Verdict::refuse;
}

}  // namespace bulkhead::manager
