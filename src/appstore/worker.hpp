// The app client's unprivileged worker. Everything that touches the network or untrusted bytes
// (the TUF refresh, downloads, rebuilder links, unpacking packages, building the erofs image)
// runs in a child process that first drops to the store's own uid and gid: no supplementary
// groups, no capabilities, no_new_privs, no inherited descriptors, killed with its parent. The
// parent (root, for bulkheadd's add) only lays out directories and reads what the worker says:
// one JSON object per line on a pipe, parsed strictly and bounded like any other input.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "appstore/client.hpp"
#include "base/result.hpp"
#include "json/value.hpp"

namespace bulkhead::appstore {

inline constexpr std::size_t kMaxWorkerLineBytes = std::size_t{4} << 20;

struct WorkerMessage {
    enum class Kind { progress, result, error };
    Kind kind = Kind::error;
    ProgressEvent progress;
    json::Value result;  // an object, for Kind::result
    Error error{ErrorCode::internal, {}};
};

std::string progress_line(const ProgressEvent& event);
std::string result_line(const json::Value& result);
std::string error_line(const Error& error);

// One line (without its newline): {"progress": {...}}, {"result": {...}} or {"error": {...}}.
Result<WorkerMessage> parse_worker_line(std::string_view line);

// `text` with control characters (C0, DEL, C1) replaced by '?': worker text is printed by root.
std::string printable(std::string text);

// Runs `work` in the worker as `uid` (gid the same number), in a session of its own, with
// /dev/null for its standard descriptors. When it ends (or says something malformed), every
// process of `uid` is killed, so nothing it started outlives it. `work` writes its lines to the
// descriptor it is given and returns the worker's exit status; the parent passes progress to
// `on_progress` and returns the result object, or the worker's error, or why it stopped.
Result<json::Value> run_worker(uid_t uid, const std::function<int(int)>& work, const Progress& on_progress);

}  // namespace bulkhead::appstore
