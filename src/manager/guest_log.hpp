// What reaches an app's log and bulkheadd's own stderr from a guest, which is not trusted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bulkhead::manager {

// The prefix of bulkheadd's own notes in an app's log ("[bulkheadd: the app exited ...]").
inline constexpr std::string_view kNotePrefix = "[bulkheadd";

// A guest's output on its way into the app's log. Its bytes pass unchanged except that:
// - a line of its own that starts like one of bulkheadd's notes gets "[app] " in front, so no
//   guest can pass a line off as bulkheadd's;
// - control characters other than newline and tab (ESC sequences, carriage returns, ...) are
//   written in caret notation ("^[", "^M"), and the C1 controls and bidirectional overrides
//   written as UTF-8 as "<U+009B>", so `bulkhead app logs` cannot be made to rewrite the
//   reader's terminal or hide text.
// Lines may be split across calls in any way.
class GuestOutputFilter {
public:
    std::string filter(std::string_view bytes);
    // What is held back while a line's start is undecided; call before writing a note.
    std::string flush();

private:
    void emit(std::string& out, char c);

    bool at_line_start_ = true;
    std::string held_;
    std::string pending_;  // the start of a character that may be a hidden control
};

// At most `burst` events per `window_ms`; the first one refused in a window is reported once.
class RateLimit {
public:
    RateLimit(int burst, std::uint64_t window_ms) : burst_(burst), window_ms_(window_ms) {}
    enum class Verdict { allow, first_refusal, refuse };
    Verdict check(std::uint64_t now_ms);

private:
    int burst_;
    std::uint64_t window_ms_;
    std::uint64_t window_start_ = 0;
    int used_ = 0;
    bool started_ = false;
};

}  // namespace bulkhead::manager
