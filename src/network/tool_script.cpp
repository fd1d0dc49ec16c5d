#include "network/tool_script.hpp"

#include <sys/mman.h>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::network {

Result<void> run_tool_script(const char* program, const char* flag, const std::string& script, int network_namespace,
                             int extra_fd, const std::string& what) {
    const UniqueFd file(::memfd_create("bulkhead-network-script", MFD_CLOEXEC));
    if (!file.valid()) return fail(Error::from_errno(errno, "memfd_create"));
    if (auto written = write_all(file.get(), script, what); !written) return fail(written.error());
    RunOptions options;
    options.network_namespace = network_namespace;
    options.inherit = {file.get()};
    if (extra_fd >= 0) options.inherit.push_back(extra_fd);
    options.timeout_seconds = kToolTimeoutSeconds;
    auto ran = run_program_checked({program, flag, "/proc/self/fd/" + std::to_string(file.get())}, options);
    if (!ran) return fail(ran.error().code, what + ": " + ran.error().message);
    return {};
}

}  // namespace bulkhead::network
