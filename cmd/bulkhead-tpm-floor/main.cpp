// bulkhead-tpm-floor [--tcti CONFIG]: reads the TPM's anti-rollback floor indices through ESAPI
// and prints one report line (tpm/floor_reading.hpp) for the initrd's /init, which interprets
// it and decides whether the image may boot. Errors go to stderr with exit status 1; the
// report is printed only whole. CONFIG defaults to the kernel's resource manager.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "floor/tpm_floor.hpp"

namespace {

int refuse(const std::string& why) {
    const std::string line = "bulkhead-tpm-floor: " + why + "\n";
    (void)!::write(STDERR_FILENO, line.data(), line.size());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string tcti = bulkhead::floor::default_tcti;
    if (argc == 3 && std::string_view(argv[1]) == "--tcti") {
        tcti = argv[2];
    } else if (argc != 1) {
        return refuse("usage: bulkhead-tpm-floor [--tcti CONFIG]");
    }
    auto floor = bulkhead::floor::TpmFloor::open(tcti);
    if (!floor) return refuse(floor.error().message);
    auto report = floor->report();
    if (!report) return refuse(report.error().message);
    std::size_t done = 0;
    while (done < report->size()) {
        const ssize_t put = ::write(STDOUT_FILENO, report->data() + done, report->size() - done);
        if (put <= 0) return refuse("writing the report");
        done += static_cast<std::size_t>(put);
    }
    return 0;
}
