// Benchmark of `bulkhead repo` publishing at package-repository scale (issue 4):
//   1. full: 100,000 targets added across 1,024 succinct hash bins, signed and published;
//   2. incremental: in that repository, 100 targets changed and published again.
// Each scenario runs in its own child process so its peak RSS (wait4) is its own: memory must
// follow the bins an operation touches, not the size of the repository.
// The peer, run in the same process on the same file system, is the bare file-system work any
// publisher of this tree must do: create 100,000 files, link each into a tree, syncfs. The
// ratio to it shows what the repository itself costs, whatever the disk.
// Targets: the full publish in under 10 s on a 2-core machine; the incremental run needing a
// small fraction of the full run's memory.
// usage: repo_bench [DIR]   (scratch space below DIR; default $TMPDIR or /tmp)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "support/temp_dir.hpp"
#include "tuf/time.hpp"
#include "tuf_repo/repository.hpp"

namespace {

using namespace bulkhead;
using namespace bulkhead::tuf_repo;
using Clock = std::chrono::steady_clock;

constexpr int kTargets = 100000;
constexpr unsigned kBinBits = 10;
constexpr int kChanged = 100;
constexpr double kTargetSeconds = 10.0;

struct Keys {
    SigningKey root = make();
    SigningKey targets = make();
    SigningKey bins = make();
    SigningKey online = make();

    static SigningKey make() {
        auto key = crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519);
        return *read_key_file(*write_key_file(*key, std::nullopt), std::nullopt);
    }
};

void check(const Result<void>& result, const char* what) {
    if (!result) {
        std::fprintf(stderr, "%s: %s\n", what, result.error().message.c_str());
        std::exit(1);
    }
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void add_and_publish(const std::string& dir, const Keys& keys, int first, int count, const char* label) {
    const auto start = Clock::now();
    auto repository = Repository::open(dir, tuf::now());
    check(repository ? Result<void>() : fail(repository.error()), "open");
    for (int i = first; i < first + count; ++i) {
        const std::string path = "packages/pkg-" + std::to_string(i) + ".pkg.tar.zst";
        check(repository->add_target(path, TargetBytes{"contents of " + path + " v" + std::to_string(first)},
                                     std::nullopt, std::nullopt),
              "add");
    }
    const double added = seconds_since(start);
    check(repository->commit(), "commit");  // stores the target contents
    const double committed = seconds_since(start);
    for (const SigningKey* key : {&keys.root, &keys.targets, &keys.bins}) {
        auto signed_roles = repository->sign(*key, {});
        if (!signed_roles && signed_roles.error().code != ErrorCode::permission_denied) {
            check(fail(signed_roles.error()), "sign");
        }
    }
    const double signed_at = seconds_since(start);
    auto published = repository->publish({&keys.online}, {&keys.online});
    check(published ? Result<void>() : fail(published.error()), "publish");
    const double total = seconds_since(start);
    std::printf(
        "%-12s %7d targets  add %.2f s  commit %.2f s  sign %.2f s  publish %.2f s  total %.2f s  (%zu roles "
        "published)\n",
        label, count, added, committed - added, signed_at - committed, total - signed_at, total,
        published->roles.size());
}

// Runs `body` in a child process; returns its wall time and peak RSS in KiB.
std::pair<double, long> in_child(const std::function<void()>& body) {
    std::fflush(stdout);
    const auto start = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        body();
        std::fflush(stdout);
        ::_exit(0);
    }
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::exit(1);
    return {seconds_since(start), usage.ru_maxrss};
}

// The peer: the same number of files created and linked with bare system calls.
void bare_file_system_work(const std::string& dir) {
    const std::string store = dir + "/store";
    const std::string tree = dir + "/tree";
    ::mkdir(store.c_str(), 0755);
    ::mkdir(tree.c_str(), 0755);
    for (int i = 0; i < kTargets; ++i) {
        const std::string name = "pkg-" + std::to_string(i) + ".pkg.tar.zst";
        const std::string contents = "contents of " + name;
        const int fd = ::open((store + "/" + name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || ::write(fd, contents.data(), contents.size()) < 0) std::exit(1);
        ::close(fd);
        if (::link((store + "/" + name).c_str(), (tree + "/" + name).c_str()) != 0) std::exit(1);
    }
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::syncfs(fd);
    ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) ::setenv("TMPDIR", argv[1], 1);
    const testing::TempDir scratch;
    const std::string dir = (scratch.path() / "repo").string();
    const Keys keys;
    {
        InitOptions options;
        options.root = {{keys.root.identity}, 1};
        options.targets = {{keys.targets.identity}, 1};
        options.snapshot = {{keys.online.identity}, 1};
        options.timestamp = {{keys.online.identity}, 1};
        auto created = Repository::create(dir, options, tuf::now());
        check(created ? Result<void>() : fail(created.error()), "init");
        BinsRequest bins;
        bins.bits = kBinBits;
        bins.keys = {{keys.bins.identity}, 1};
        check(created->delegate_bins(bins), "delegate-bins");
        check(created->commit(), "commit");
    }
    std::printf("bulkhead repo benchmark: %d targets in %u hash bins, then %d changed\n", kTargets, 1U << kBinBits,
                kChanged);
    const auto [bare_seconds, bare_rss] = in_child([&] { bare_file_system_work(scratch.str()); });
    const auto [full_seconds, full_rss] = in_child([&] { add_and_publish(dir, keys, 0, kTargets, "full"); });
    const auto [small_seconds, small_rss] = in_child([&] { add_and_publish(dir, keys, 0, kChanged, "incremental"); });
    std::printf("full publish:        %.2f s (target < %.0f s: %s), peak RSS %.1f MiB\n", full_seconds, kTargetSeconds,
                full_seconds < kTargetSeconds ? "met" : "MISSED", static_cast<double>(full_rss) / 1024.0);
    std::printf("peer, bare file-system work for the same tree: %.2f s; full publish / peer = %.2fx\n", bare_seconds,
                full_seconds / bare_seconds);
    std::printf("incremental publish: %.2f s, peak RSS %.1f MiB (%.2fx the full run's memory)\n", small_seconds,
                static_cast<double>(small_rss) / 1024.0,
                static_cast<double>(small_rss) / static_cast<double>(full_rss));
    return full_seconds < kTargetSeconds ? 0 : 1;
}
