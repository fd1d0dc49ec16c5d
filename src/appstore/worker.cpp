#include "appstore/worker.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <exception>

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

Result<ErrorCode> code_named(std::string_view name) {
    for (int code = 0; code <= static_cast<int>(ErrorCode::integrity); ++code) {
        if (error_code_name(static_cast<ErrorCode>(code)) == name) return static_cast<ErrorCode>(code);
    }
    return fail(ErrorCode::parse, "worker message: unknown error code");
}

// In the child, before any work: from here on it can never be more than `uid`.
bool drop_to(uid_t uid, pid_t parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) return false;
    if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
        return false;
    }
    // Root must be gone for good, not just set aside.
    if (::setuid(0) == 0 || ::geteuid() != uid || ::getegid() != uid) return false;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_DUMPABLE, 0) != 0) return false;
    ::umask(077);
    return true;
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
        message.progress = {std::move(*stage), std::move(*item), *done, *total};
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
        auto named = code_named(*code);
        if (!named) return fail(named.error());
        message.kind = WorkerMessage::Kind::error;
        message.error = Error{*named, std::move(*text_message)};
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
        // Only the pipe (at fd 3) and the standard descriptors survive, stdin reading nothing.
        const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || ::dup2(null, STDIN_FILENO) < 0 || ::dup2(writer.get(), kWorkerFd) < 0 ||
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
    std::optional<Result<json::Value>> outcome;
    std::array<char, 65536> buffer{};
    for (;;) {
        const ssize_t got = ::read(reader.get(), buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        pending.append(buffer.data(), static_cast<std::size_t>(got));
        for (std::size_t end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
            auto message = parse_worker_line(std::string_view(pending).substr(0, end));
            pending.erase(0, end + 1);
            if (!message) {
                outcome = fail(message.error());
            } else if (message->kind == WorkerMessage::Kind::progress) {
                if (on_progress) on_progress(message->progress);
            } else if (!outcome) {
                outcome = message->kind == WorkerMessage::Kind::result ? Result<json::Value>(std::move(message->result))
                                                                       : Result<json::Value>(fail(message->error));
            }
        }
        if (pending.size() > kMaxWorkerLineBytes) {
            outcome = fail(ErrorCode::too_large, "worker message: too long");
            (void)::kill(child, SIGKILL);
            break;
        }
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return fail(Error::from_errno(errno, "waiting for the store worker"));
    }
    if (outcome && !*outcome) return *outcome;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                    : "exited with status " + std::to_string(WEXITSTATUS(status));
        return fail(ErrorCode::internal, "the store worker " + how);
    }
    if (!outcome) return fail(ErrorCode::internal, "the store worker reported no result");
    return *outcome;
}

}  // namespace bulkhead::appstore
