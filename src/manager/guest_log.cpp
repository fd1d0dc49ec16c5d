#include "manager/guest_log.hpp"

namespace bulkhead::manager {

namespace {

void append_visible(std::string& out, char c) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f) {
        out.push_back('^');
        out.push_back(byte == 0x7f ? '?' : static_cast<char>(byte + 0x40));
    } else {
        out.push_back(c);
    }
}

}  // namespace

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
                for (const char held : held_) append_visible(out, held);
            }
            held_.clear();
            at_line_start_ = c == '\n';
            continue;
        }
        append_visible(out, c);
        if (c == '\n') at_line_start_ = true;
    }
    return out;
}

std::string GuestOutputFilter::flush() {
    std::string out;
    for (const char held : held_) append_visible(out, held);
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
