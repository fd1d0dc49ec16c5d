#include "appstore/worker.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <exception>

#include "base/capabilities.hpp"
#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::appstore {

namespace {

constexpr std::size_t kMaxStageBytes = 32;
constexpr std::size_t kMaxItemBytes = 4096;
constexpr std::size_t kMaxMessageBytes = std::size_t{64} * 1024;
constexpr int kWorkerFd = 3;

json::Value text(std::string value) { return json::Value(std::move(value)); }

Result<std::string> bounded_text(const json::Value& object, const char* key, std::size_t max_bytes) {
    const json::Value* value = object.find(key);
    if (value == nullptr || !value->is_string() || value->as_string().size() > max_bytes) {
        return fail(ErrorCode::parse, std::string("worker message: \"") + key + "\" must be a string of at most " +
                                          std::to_string(max_bytes) + " bytes");
    }
    return value->as_string();
}

Result<std::uint64_t> count(const json::Value& object, const char* key) {
    const json::Value* value = object.find(key);
    if (value == nullptr || !value->is_integer() || value->as_integer() < 0) {
        return fail(ErrorCode::parse, std::string("worker message: \"") + key + "\" must be a whole number >= 0");
    }
    return static_cast<std::uint64_t>(value->as_integer());
}

Result<void> only_keys(const json::Value& object, std::initializer_list<std::string_view> keys) {
    if (!object.is_object() || object.as_object().size() != keys.size()) {
        return fail(ErrorCode::parse, "worker message: unexpected members");
    }
    for (const std::string_view key : keys) {
        if (object.find(std::string(key)) == nullptr) {
            return fail(ErrorCode::parse, "worker message: no \"" + std::string(key) + "\"");
        }
    }
    return {};
}

// In the child, before any work: from here on it can never be more than `uid`.
bool drop_to(uid_t uid, pid_t parent) {
    // Out of root's session: no controlling terminal to push input into (TIOCSTI).
    if (::setsid() < 0) return false;
    // Only what the uid change needs, and nothing inheritable or in the bounding set after it.
    if (!keep_only_capabilities({CAP_SETUID, CAP_SETGID})) return false;
    if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
        return false;
    }
    // After the uid change, which clears it; then the parent must still be the one that forked.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) return false;
    // Root must be gone for good, not just set aside.
    if (::setuid(0) == 0 || ::geteuid() != uid || ::getegid() != uid) return false;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_DUMPABLE, 0) != 0) return false;
    ::umask(077);
    return true;
}

// Kills every process of `uid` (whatever the worker may have left running) from a child that
// takes that uid: kill(-1) reaches exactly the processes with the same uid.
void kill_everything_of(uid_t uid) {
    const pid_t reaper = ::fork();
    if (reaper == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
            ::_exit(1);
        }
        (void)::kill(-1, SIGKILL);
        ::_exit(0);
    }
    if (reaper > 0) {
        while (::waitpid(reaper, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
}

// Keeps printed text from driving a terminal: control characters (C0, DEL, C1) become '?'.
std::string printable_text(std::string text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x20 || byte == 0x7f) {
            text[i] = '?';
        } else if (byte == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            text.replace(i, 2, "?");
        }
    }
    return text;
}

}  // namespace

std::string progress_line(const ProgressEvent& event) {
    return json::to_json(json::Value(json::Object{
               {"progress", json::sorted_object({{"stage", text(event.stage)},
                                                 {"item", text(event.item)},
                                                 {"done", json::Value(static_cast<std::int64_t>(event.done))},
                                                 {"total", json::Value(static_cast<std::int64_t>(event.total))}})}})) +
           "\n";
}

std::string result_line(const json::Value& result) {
    return json::to_json(json::Value(json::Object{{"result", result}})) + "\n";
}

std::string error_line(const Error& error) {
    return json::to_json(json::Value(
               json::Object{{"error", json::sorted_object({{"code", text(std::string(error_code_name(error.code)))},
                                                           {"message", text(error.message)}})}})) +
           "\n";
}

Result<WorkerMessage> parse_worker_line(std::string_view line) {
    if (line.size() > kMaxWorkerLineBytes) return fail(ErrorCode::too_large, "worker message: too long");
    json::ParseLimits limits;
    limits.max_bytes = kMaxWorkerLineBytes;
    limits.max_depth = 8;
    auto document = json::parse(line, limits);
    if (!document || !document->is_object() || document->as_object().size() != 1) {
        return fail(ErrorCode::parse, "worker message: not one JSON object with one member");
    }
    const auto& [kind, body] = document->as_object().front();
    WorkerMessage message;
    if (kind == "progress") {
        if (auto checked = only_keys(body, {"stage", "item", "done", "total"}); !checked) return fail(checked.error());
        auto stage = bounded_text(body, "stage", kMaxStageBytes);
        auto item = bounded_text(body, "item", kMaxItemBytes);
        auto done = count(body, "done");
        auto total = count(body, "total");
        if (!stage) return fail(stage.error());
        if (!item) return fail(item.error());
        if (!done) return fail(done.error());
        if (!total) return fail(total.error());
        message.kind = WorkerMessage::Kind::progress;
        message.progress = {printable_text(std::move(*stage)), printable_text(std::move(*item)), *done, *total};
        return message;
    }
    if (kind == "result") {
        if (!body.is_object()) return fail(ErrorCode::parse, "worker message: the result must be an object");
        message.kind = WorkerMessage::Kind::result;
        message.result = body;
        return message;
    }
    if (kind == "error") {
        if (auto checked = only_keys(body, {"code", "message"}); !checked) return fail(checked.error());
        auto code = bounded_text(body, "code", kMaxStageBytes);
        auto text_message = bounded_text(body, "message", kMaxMessageBytes);
        if (!code) return fail(code.error());
        if (!text_message) return fail(text_message.error());
        const auto named = error_code_from_name(*code);
        if (!named) return fail(ErrorCode::parse, "worker message: unknown error code");
        message.kind = WorkerMessage::Kind::error;
        message.error = Error{*named, printable_text(std::move(*text_message))};
        return message;
    }
    return fail(ErrorCode::parse, "worker message: unknown kind");
}

Result<json::Value> run_worker(uid_t uid, const std::function<int(int)>& work, const Progress& on_progress) {
    if (uid == 0) return fail(ErrorCode::invalid_argument, "the store worker must not run as root");
    std::array<int, 2> pipe_fds{};
    if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "creating the worker's pipe"));
    UniqueFd reader(pipe_fds[0]);
    UniqueFd writer(pipe_fds[1]);
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child < 0) return fail(Error::from_errno(errno, "starting the store worker"));
    if (child == 0) {
        // Only the pipe (at fd 3) survives; the standard descriptors are /dev/null, so nothing
        // of root's terminal or output is within reach.
        const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || ::dup2(null, STDIN_FILENO) < 0 || ::dup2(null, STDOUT_FILENO) < 0 ||
            ::dup2(null, STDERR_FILENO) < 0 || ::dup2(writer.get(), kWorkerFd) < 0 ||
            ::close_range(kWorkerFd + 1, ~0U, 0) != 0) {
            ::_exit(125);
        }
        if (!drop_to(uid, parent)) {
            const std::string line = error_line(
                {ErrorCode::permission_denied, "the store worker could not drop to uid " + std::to_string(uid)});
            (void)write_all(kWorkerFd, line, "the worker's pipe");
            ::_exit(125);
        }
        int status = 1;
        try {
            status = work(kWorkerFd);
        } catch (const std::exception& unexpected) {
            (void)write_all(kWorkerFd, error_line({ErrorCode::internal, unexpected.what()}), "the worker's pipe");
        } catch (...) {
            (void)write_all(kWorkerFd, error_line({ErrorCode::internal, "the store worker failed"}),
                            "the worker's pipe");
        }
        ::_exit(status);
    }
    writer.reset();
    std::string pending;
    std::size_t start = 0;  // of the first line not yet parsed
    std::optional<Result<json::Value>> outcome;
    std::array<char, 65536> buffer{};
    int status = 0;
    bool exited = false;
    bool stop_reading = false;
    while (!stop_reading) {
        pollfd ready{reader.get(), POLLIN, 0};
        const int polled = ::poll(&ready, 1, 1000);
        if (polled < 0 && errno != EINTR) break;
        if (polled > 0) {
            const ssize_t got = ::read(reader.get(), buffer.data(), buffer.size());
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break;
            pending.append(buffer.data(), static_cast<std::size_t>(got));
            for (std::size_t end = pending.find('\n', start); end != std::string::npos;
                 end = pending.find('\n', start)) {
                auto message = parse_worker_line(std::string_view(pending).substr(start, end - start));
                start = end + 1;
                if (!message) {
                    // A worker that says something malformed is not listened to any more.
                    outcome = fail(message.error());
                    stop_reading = true;
                    break;
                }
                if (message->kind == WorkerMessage::Kind::progress) {
                    if (on_progress) on_progress(message->progress);
                } else if (!outcome) {
                    outcome = message->kind == WorkerMessage::Kind::result
                                  ? Result<json::Value>(std::move(message->result))
                                  : Result<json::Value>(fail(message->error));
                }
            }
            pending.erase(0, start);
            start = 0;
            if (pending.size() > kMaxWorkerLineBytes) {
                outcome = fail(ErrorCode::too_large, "worker message: too long");
                stop_reading = true;
            }
        }
        // Whatever the worker started may hold the pipe open after it exits: once it is gone,
        // everything of its uid goes too, and the pipe ends.
        if (!exited && ::waitpid(child, &status, WNOHANG) == child) {
            exited = true;
            kill_everything_of(uid);
        }
    }
    (void)::kill(child, SIGKILL);
    while (!exited && ::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return fail(Error::from_errno(errno, "waiting for the store worker"));
    }
    kill_everything_of(uid);
    if (outcome && !*outcome) return *outcome;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                    : "exited with status " + std::to_string(WEXITSTATUS(status));
        return fail(ErrorCode::internal, "the store worker " + how);
    }
    if (!outcome) return fail(ErrorCode::internal, "the store worker reported no result");
    return *outcome;
}

std::string printable(std::string text) { return printable_text(std::move(text)); }

}  // namespace bulkhead::appstore
