#include "initrd/modules.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::initrd {

int load_modules(const std::string& dir, const std::function<void(const std::string&)>& say) {
    std::vector<std::string> modules;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        if (entry.path().extension() == ".ko") modules.push_back(entry.path().string());
    }
    std::sort(modules.begin(), modules.end());
    int failed = 0;
    for (const std::string& module : modules) {
        const UniqueFd fd(::open(module.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid() || (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST)) {
            say(Error::from_errno(errno, "loading " + module).message);
            ++failed;
        }
    }
    return failed;
}

}  // namespace bulkhead::initrd
