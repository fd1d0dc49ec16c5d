// dm-verity hash tree of the same 1 GiB image by our code (in this process) and by
// `veritysetup format` (cryptsetup), in the same run, same parameters (sha256, 4 KiB blocks,
// 32-byte salt, superblock); median of 3 each, and the ratio. Target (issue 7): ours at least
// as fast (ratio <= 1.0; both are bound by SHA-256 throughput). The image lives in DIR
// (default: a temporary directory under /tmp); run: bench/verity/run.sh [DIR].
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/process.hpp"
#include "base/unique_fd.hpp"
#include "verity/hash_tree.hpp"

namespace {

using namespace bulkhead;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::uint64_t kImageBytes = std::uint64_t{1} << 30;
constexpr int kRuns = 3;

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "verity_bench: %s\n", why.c_str());
    std::exit(1);
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path();
    const fs::path work = dir / ("verity-bench-" + std::to_string(::getpid()));
    fs::create_directories(work);
    const std::string image = (work / "root.img").string();
    {
        // Random content: nothing for either side to shortcut.
        const UniqueFd fd(::open(image.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!fd.valid()) die("cannot create " + image);
        std::mt19937_64 random(42);
        std::vector<std::uint64_t> chunk((std::size_t{1} << 20) / sizeof(std::uint64_t));
        for (std::uint64_t written = 0; written < kImageBytes; written += std::uint64_t{1} << 20) {
            for (auto& word : chunk) word = random();
            if (::write(fd.get(), chunk.data(), std::size_t{1} << 20) != (1 << 20)) die("cannot write " + image);
        }
    }
    verity::Parameters parameters;
    parameters.salt = std::string(32, '\x5a');
    std::string salt_text;
    for (int i = 0; i < 32; ++i) salt_text += "5a";

    std::vector<double> ours;
    std::vector<double> theirs;
    std::string our_root;
    for (int run = 0; run < kRuns; ++run) {
        const std::string our_hash = (work / "ours.hash").string();
        fs::remove(our_hash);
        const auto start = Clock::now();
        const UniqueFd data(::open(image.c_str(), O_RDONLY | O_CLOEXEC));
        const UniqueFd hash(::open(our_hash.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        auto tree = verity::build_hash_tree(data.get(), kImageBytes, hash.get(), parameters);
        if (!tree) die(tree.error().message);
        ours.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        our_root = tree->root_hash;

        const std::string their_hash = (work / "theirs.hash").string();
        fs::remove(their_hash);
        const auto their_start = Clock::now();
        auto formatted = run_program_checked({"/usr/sbin/veritysetup", "format", image, their_hash, "--hash=sha256",
                                              "--data-block-size=4096", "--hash-block-size=4096", "--salt=" + salt_text,
                                              "--uuid=00000000-0000-4000-8000-000000000000"});
        if (!formatted) die(formatted.error().message);
        theirs.push_back(std::chrono::duration<double>(Clock::now() - their_start).count());
    }
    fs::remove_all(work);
    const double ratio = median(ours) / median(theirs);
    std::printf("dm-verity hash tree of a 1 GiB image (sha256, 4 KiB blocks), median of %d:\n", kRuns);
    std::printf("  veritysetup format: %.3f s\n", median(theirs));
    std::printf("  bulkhead (ours):    %.3f s   ratio %.3f (target <= 1.0: %s)\n", median(ours), ratio,
                ratio <= 1.0 ? "met" : "MISSED");
    return 0;
}
