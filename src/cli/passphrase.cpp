#include "cli/passphrase.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "base/file_io.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::cli {

namespace {

constexpr std::size_t kMaxPassphraseBytes = 4096;

Result<std::string> prompt_once(int tty, const std::string& prompt) {
    if (::write(tty, prompt.data(), prompt.size()) < 0)
        return fail(Error::from_errno(errno, "writing to the terminal"));
    termios original{};
    if (::tcgetattr(tty, &original) != 0) return fail(Error::from_errno(errno, "reading terminal settings"));
    termios silent = original;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    if (::tcsetattr(tty, TCSAFLUSH, &silent) != 0) return fail(Error::from_errno(errno, "turning off echo"));
    std::string line;
    char c = 0;
    ssize_t got = 0;
    while ((got = ::read(tty, &c, 1)) == 1 && c != '\n') {
        if (line.size() >= kMaxPassphraseBytes) break;
        line += c;
    }
    ::tcsetattr(tty, TCSAFLUSH, &original);
    if (::write(tty, "\n", 1) < 0) return fail(Error::from_errno(errno, "writing to the terminal"));
    if (got < 0) return fail(Error::from_errno(errno, "reading the passphrase"));
    return line;
}

}  // namespace

Result<std::string> read_passphrase(const std::optional<std::string>& file, const std::string& prompt, bool confirm) {
    if (file) {
        auto contents = read_file_bounded(*file, kMaxPassphraseBytes);
        if (!contents) return fail(contents.error());
        std::string line = contents->substr(0, contents->find('\n'));
        if (line.empty()) return fail(ErrorCode::invalid_argument, "passphrase file " + *file + " is empty");
        return line;
    }
    const UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (!tty.valid()) {
        return fail(ErrorCode::invalid_argument,
                    "no terminal to ask for a passphrase: use --passphrase-file FILE (or --insecure-plaintext for "
                    "throw-away test keys)");
    }
    auto first = prompt_once(tty.get(), prompt);
    if (!first) return first;
    if (first->empty()) return fail(ErrorCode::invalid_argument, "the passphrase must not be empty");
    if (confirm) {
        auto second = prompt_once(tty.get(), "Repeat the passphrase: ");
        if (!second) return second;
        if (*second != *first) return fail(ErrorCode::invalid_argument, "the passphrases do not match");
    }
    return first;
}

}  // namespace bulkhead::cli
