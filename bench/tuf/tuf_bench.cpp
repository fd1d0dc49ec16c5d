// Benchmark of the TUF client against tuf-js on the same repositories in the same run:
//   1. refresh + download of one target from 100,000 targets in 1,024 succinct hash bins;
//   2. refresh + lookup + download through a 30-deep delegation chain.
// Both clients run as separate processes against one HTTP server on 127.0.0.1, each from a
// fresh metadata directory; wall time and peak RSS (wait4) are measured per run and the
// median time and the largest peak are reported with their ratios.
// Targets (issue 3): at least 10x faster than tuf-js, at most a quarter of its peak memory.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support/http_server.hpp"
#include "support/temp_dir.hpp"
#include "test_repository.hpp"
#include "tuf/delegation.hpp"
#include "tuf/url.hpp"

namespace {

namespace fs = std::filesystem;
using bulkhead::tuf::testing::TestRepository;

struct Scenario {
    std::string name;
    std::string target;
    std::map<std::string, std::string> files;  // request path -> bytes
    std::string initial_root;
};

void serve_repository(const TestRepository& repo, Scenario& scenario, const std::string& target) {
    for (const auto& [version, bytes] : repo.root_versions) {
        scenario.files["/metadata/" + std::to_string(version) + ".root.json"] = bytes;
    }
    scenario.files["/metadata/timestamp.json"] = repo.timestamp_bytes;
    for (const auto& [version, bytes] : repo.snapshot_versions) {
        scenario.files["/metadata/" + std::to_string(version) + ".snapshot.json"] = bytes;
    }
    for (const auto& [role, versions] : repo.targets_versions) {
        for (const auto& [version, bytes] : versions) {
            scenario
                .files["/metadata/" + std::to_string(version) + "." + bulkhead::tuf::percent_encode(role) + ".json"] =
                bytes;
        }
    }
    const std::string content = repo.target_contents.at(target);
    const std::size_t slash = target.rfind('/');
    const std::string hash = bulkhead::tuf::target_path_hash(content);
    scenario.files["/targets/" + target.substr(0, slash + 1) + hash + "." + target.substr(slash + 1)] = content;
    scenario.initial_root = repo.root_versions.begin()->second;
    scenario.target = target;
}

Scenario hash_bins() {
    Scenario scenario{"100,000 targets in 1,024 succinct hash bins", {}, {}, {}};
    TestRepository repo;
    repo.delegate_bins("targets", 10, "bin");
    bulkhead::tuf::SuccinctRoles bins{{}, 10, "bin"};
    for (int i = 0; i < 100000; ++i) {
        const std::string path = "packages/pkg-" + std::to_string(i) + ".tar.zst";
        repo.add_target(bulkhead::tuf::succinct_bin_for(bins, bulkhead::tuf::target_path_hash(path)), path,
                        "package " + std::to_string(i));
    }
    repo.publish_all_targets_and_snapshot();
    serve_repository(repo, scenario, "packages/pkg-77777.tar.zst");
    return scenario;
}

Scenario delegation_chain() {
    Scenario scenario{"lookup through a 30-deep delegation chain", {}, {}, {}};
    TestRepository repo;
    std::string parent = "targets";
    for (int depth = 1; depth <= 30; ++depth) {
        const std::string role = "level-" + std::to_string(depth);
        repo.delegate(parent, role, {"deep/*"}, false, 400 + depth);
        parent = role;
    }
    repo.add_target(parent, "deep/artifact.bin", std::string(4096, 'a'));
    repo.publish_all_targets_and_snapshot();
    serve_repository(repo, scenario, "deep/artifact.bin");
    return scenario;
}

struct Measurement {
    double seconds = 0;
    long peak_rss_kib = 0;
    bool ok = false;
};

// Runs one command and measures it. Called only in the launcher process (below), which is
// forked before any repository is built: a child's peak RSS counts the memory of the process
// it was forked from, so forking from the big benchmark process would inflate every number.
Measurement run_and_measure(const std::vector<std::string>& argv) {
    const auto start = std::chrono::steady_clock::now();
    const pid_t child = ::fork();
    if (child == 0) {
        std::vector<char*> args;
        for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    ::wait4(child, &status, 0, &usage);
    const auto end = std::chrono::steady_clock::now();
    return Measurement{std::chrono::duration<double>(end - start).count(), usage.ru_maxrss,
                       WIFEXITED(status) && WEXITSTATUS(status) == 0};
}

bool read_exact(int fd, void* into, std::size_t size) {
    auto* bytes = static_cast<char*>(into);
    while (size > 0) {
        const ssize_t got = ::read(fd, bytes, size);
        if (got <= 0) return false;
        bytes += got;
        size -= static_cast<std::size_t>(got);
    }
    return true;
}

void write_exact(int fd, const void* from, std::size_t size) {
    const auto* bytes = static_cast<const char*>(from);
    while (size > 0) {
        const ssize_t put = ::write(fd, bytes, size);
        if (put <= 0) std::exit(1);
        bytes += put;
        size -= static_cast<std::size_t>(put);
    }
}

struct Launcher {
    int commands = -1;
    int results = -1;
} launcher;

void start_launcher() {
    int to_launcher[2];
    int from_launcher[2];
    if (::pipe(to_launcher) != 0 || ::pipe(from_launcher) != 0) std::exit(1);
    if (::fork() == 0) {
        ::close(to_launcher[1]);
        ::close(from_launcher[0]);
        for (;;) {
            std::uint32_t count = 0;
            if (!read_exact(to_launcher[0], &count, sizeof count)) ::_exit(0);
            std::vector<std::string> argv(count);
            for (std::string& arg : argv) {
                std::uint32_t length = 0;
                if (!read_exact(to_launcher[0], &length, sizeof length)) ::_exit(1);
                arg.resize(length);
                if (!read_exact(to_launcher[0], arg.data(), length)) ::_exit(1);
            }
            const Measurement measured = run_and_measure(argv);
            write_exact(from_launcher[1], &measured, sizeof measured);
        }
    }
    ::close(to_launcher[0]);
    ::close(from_launcher[1]);
    launcher.commands = to_launcher[1];
    launcher.results = from_launcher[0];
}

Measurement run(const std::vector<std::string>& argv) {
    const auto count = static_cast<std::uint32_t>(argv.size());
    write_exact(launcher.commands, &count, sizeof count);
    for (const std::string& arg : argv) {
        const auto length = static_cast<std::uint32_t>(arg.size());
        write_exact(launcher.commands, &length, sizeof length);
        write_exact(launcher.commands, arg.data(), length);
    }
    Measurement measured;
    if (!read_exact(launcher.results, &measured, sizeof measured)) std::exit(1);
    return measured;
}

struct Summary {
    double median_seconds = 0;
    long peak_rss_kib = 0;
};

Summary measure(const std::string& label, const Scenario& scenario, const std::string& url, int runs,
                const std::function<std::vector<std::string>(const std::string&, const std::string&)>& command) {
    std::vector<double> times;
    long peak = 0;
    for (int i = 0; i < runs; ++i) {
        const bulkhead::testing::TempDir work;
        const std::string metadata = work.mkdir("metadata").string();
        const std::string targets = work.mkdir("targets").string();
        std::ofstream(metadata + "/root.json", std::ios::binary) << scenario.initial_root;
        const Measurement m = run(command(metadata, targets));
        if (!m.ok) {
            std::fprintf(stderr, "%s failed on '%s'\n", label.c_str(), scenario.name.c_str());
            std::exit(1);
        }
        times.push_back(m.seconds);
        peak = std::max(peak, m.peak_rss_kib);
    }
    (void)url;
    std::sort(times.begin(), times.end());
    return Summary{times[times.size() / 2], peak};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: tuf_bench BULKHEAD_TUF_CLIENT NODE TUFJS_SCRIPT\n");
        return 2;
    }
    const std::string ours = argv[1];
    const std::string node = argv[2];
    const std::string script = argv[3];
    constexpr int kRuns = 5;

    start_launcher();
    std::printf("Building repositories...\n");
    std::fflush(stdout);
    std::vector<Scenario> scenarios;
    scenarios.push_back(hash_bins());
    scenarios.push_back(delegation_chain());

    bool all_met = true;
    for (const Scenario& scenario : scenarios) {
        const auto& files = scenario.files;
        bulkhead::testing::HttpServer server([&files](const std::string& path) -> std::optional<std::string> {
            const auto found = files.find(path);
            if (found == files.end()) return std::nullopt;
            return found->second;
        });
        const std::string metadata_url = server.url("/metadata/");
        const std::string target_url = server.url("/targets/");
        const Summary bulkhead = measure("bulkhead-tuf-client", scenario, metadata_url, kRuns,
                                         [&](const std::string& metadata, const std::string& targets) {
                                             return std::vector<std::string>{
                                                 ours,       "--metadata-url", metadata_url,    "--metadata-dir",
                                                 metadata,   "--target-name",  scenario.target, "--target-base-url",
                                                 target_url, "--target-dir",   targets,         "download"};
                                         });
        const Summary tufjs = measure(
            "tuf-js", scenario, metadata_url, kRuns, [&](const std::string& metadata, const std::string& targets) {
                return std::vector<std::string>{node,    script,     metadata,       metadata_url,
                                                targets, target_url, scenario.target};
            });
        const double speedup = tufjs.median_seconds / bulkhead.median_seconds;
        const double memory = static_cast<double>(bulkhead.peak_rss_kib) / static_cast<double>(tufjs.peak_rss_kib);
        const bool met = speedup >= 10.0 && memory <= 0.25;
        all_met = all_met && met;
        std::printf("\n%s (median of %d cold runs: refresh, lookup, download)\n", scenario.name.c_str(), kRuns);
        std::printf("  %-22s %9.1f ms   peak RSS %7.1f MiB\n", "bulkhead-tuf-client", bulkhead.median_seconds * 1000,
                    static_cast<double>(bulkhead.peak_rss_kib) / 1024);
        std::printf("  %-22s %9.1f ms   peak RSS %7.1f MiB\n", "tuf-js 5.0.1 (node)", tufjs.median_seconds * 1000,
                    static_cast<double>(tufjs.peak_rss_kib) / 1024);
        std::printf("  speed: %.1fx faster (target >= 10x); memory: %.2f of tuf-js (target <= 0.25): %s\n", speedup,
                    memory, met ? "met" : "NOT met");
    }
    std::printf("\n%s\n", all_met ? "All targets met." : "Some targets NOT met.");
    return 0;
}
