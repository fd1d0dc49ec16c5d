// Running a helper program (mkfs.erofs, useradd, ...) the only way project code may: an argv
// executed directly (never a shell string), a minimal fixed environment, stdin from /dev/null,
// output captured with a bound.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace bulkhead {

struct ProgramOutput {
    int exit_code = -1;  // -1 when killed by a signal
    std::string out;
    std::string err;
};

// Whose authority a program runs with: this uid and gid, no supplementary groups, and
// no_new_privs (nothing it executes can gain privileges).
struct Credentials {
    uid_t uid = 0;
    gid_t gid = 0;
};

// Where RunOptions::view shows a directory to the program.
inline constexpr const char* kReadOnlyViewPath = "/mnt/bulkhead-view";

struct RunOptions {
    std::optional<Credentials> as;  // unset: the caller's own
    std::vector<int> inherit;       // descriptors the program keeps, at their numbers (/proc/self/fd/N)
    // A directory (an open descriptor) the program sees, read-only, at kReadOnlyViewPath, in a
    // mount namespace of its own where /mnt is a private tmpfs: no path above it can be changed
    // under the program's feet, and mounts below it are not part of the view. Needs
    // CAP_SYS_ADMIN. -1: none.
    int view = -1;
    bool view_writable = false;  // the view without its read-only flag (a files:PATH:rw share)
    // A network namespace (an open descriptor) the program runs in: `ip` and `nft` configure
    // the namespace they run in. Needs CAP_SYS_ADMIN. -1: the caller's.
    int network_namespace = -1;
    int timeout_seconds = 0;           // killed after this long (0: no limit)
    std::uint64_t max_file_bytes = 0;  // RLIMIT_FSIZE for the program (0: unchanged)
};

// Runs argv (argv[0] an absolute path) to completion. Fails only when it cannot be started;
// a non-zero exit is reported in exit_code. Output beyond 1 MiB per stream is cut off.
Result<ProgramOutput> run_program(const std::vector<std::string>& argv, const RunOptions& options = {});

// Starts argv in the background, as run_program would (same options but timeout_seconds and
// max_file_bytes' meaning unchanged), with stdout and stderr on `output_fd`; returns its pid
// once it has exec'd. The caller reaps it.
Result<pid_t> spawn_program(const std::vector<std::string>& argv, const RunOptions& options, int output_fd);

// As run_program, but a non-zero exit is an error naming the program and its stderr.
Result<ProgramOutput> run_program_checked(const std::vector<std::string>& argv, const RunOptions& options = {});

// The check of run_program_checked applied to output already collected.
Result<ProgramOutput> run_program_checked_output(const std::vector<std::string>& argv, ProgramOutput output);

}  // namespace bulkhead
