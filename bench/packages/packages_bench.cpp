// Installing an app whose closure has 50 packages from a local (file://) mirror, against the
// floor of unpacking the same packages with `bsdtar -x` and building the erofs image with
// mkfs.erofs, in the same run. "Ours" is everything `bulkhead app install` does before handing
// the tree to bulkheadd: TUF refresh, versions and closure manifest, rebuilder links checked
// against the threshold, every package fetched and checked against the targets metadata, read
// whole against its .MTREE and unpacked (AppStore::prepare), then the same mkfs.erofs. Each side
// runs in a child process so its peak RSS (wait4, with what it waited for) is its own; median
// of 3. Target (issue 9): ours at most 1.2 times the floor in time. Packages are built with
// makepkg (as nobody when run as root). Run: bench/packages/run.sh [DIR].
#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "appstore/client.hpp"
#include "attest/link.hpp"
#include "base/file_io.hpp"
#include "base/process.hpp"
#include "crypto/digest.hpp"
#include "curate/curator.hpp"
#include "fetch/fetcher.hpp"
#include "tuf/time.hpp"
#include "tuf_repo/repository.hpp"

namespace {

using namespace bulkhead;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kPackages = 50;
constexpr int kFilesPerPackage = 60;
constexpr int kRuns = 3;
constexpr uid_t kNobody = 65534;

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "packages_bench: %s\n", why.c_str());
    std::exit(1);
}

template <typename T>
T must(Result<T> result, const std::string& what) {
    if (!result) die(what + ": " + result.error().message);
    return std::move(result).value();
}
void must(const Result<void>& result, const std::string& what) {
    if (!result) die(what + ": " + result.error().message);
}

void write(const fs::path& file, const std::string& contents) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << contents;
}

// makepkg in `dir`, as nobody when we are root (makepkg refuses root).
void makepkg(const fs::path& dir) {
    const bool as_root = ::geteuid() == 0;
    if (as_root) {
        for (const auto& entry : fs::recursive_directory_iterator(dir)) {
            if (::lchown(entry.path().c_str(), kNobody, kNobody) != 0) die("chown " + entry.path().string());
        }
        if (::chown(dir.c_str(), kNobody, kNobody) != 0) die("chown " + dir.string());
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        if (::chdir(dir.c_str()) != 0) ::_exit(126);
        if (as_root && (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
                        ::setresuid(kNobody, kNobody, kNobody) != 0)) {
            ::_exit(125);
        }
        const std::string home = "HOME=" + dir.string();
        const char* env[] = {"PATH=/usr/bin:/bin",           home.c_str(),     "PKGEXT=.pkg.tar.zst",
                             "SOURCE_DATE_EPOCH=1700000000", "LC_ALL=C.UTF-8", nullptr};
        const char* argv[] = {"/usr/bin/makepkg", "--nodeps", "--noconfirm", "--noprogressbar", "--force", nullptr};
        ::execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(env));
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("makepkg failed in " + dir.string());
}

// Package i: kFilesPerPackage files of mixed text and random bytes (about 1.5 MiB), the app
// (package 0) depending on all the others.
fs::path build_package(const fs::path& work, int index, std::mt19937_64& random) {
    const std::string name = index == 0 ? "bench-app" : "bench-lib" + std::to_string(index);
    const fs::path dir = work / "build" / name;
    std::string depends;
    for (int i = 1; index == 0 && i < kPackages; ++i) depends += " 'bench-lib" + std::to_string(i) + "'";
    write(dir / "PKGBUILD", "pkgname=" + name + "\npkgver=1.0\npkgrel=1\narch=('x86_64')\ndepends=(" + depends +
                                " )\npackage() {\n  cp -a \"$startdir/payload/.\" \"$pkgdir/\"\n}\n");
    for (int file = 0; file < kFilesPerPackage; ++file) {
        const std::size_t size = std::uniform_int_distribution<std::size_t>(1000, 50000)(random);
        std::string contents;
        contents.reserve(size);
        const bool text = file % 3 != 0;
        for (std::size_t i = 0; i < size; ++i) {
            contents += text ? static_cast<char>('a' + static_cast<int>(random() % 16U)) : static_cast<char>(random());
        }
        write(dir / "payload/usr/share" / name / ("file-" + std::to_string(file)), contents);
    }
    makepkg(dir);
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().string().ends_with(".pkg.tar.zst")) return entry.path();
    }
    die("makepkg made no package for " + name);
}

struct Measurement {
    double seconds = 0;
    long peak_rss_kib = 0;
};

// Runs `body` in a child; its wall time and peak RSS (with what it waited for).
template <typename Body>
Measurement measure(const Body& body) {
    const auto start = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(body() ? 0 : 1);
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("a measured run failed");
    return {std::chrono::duration<double>(Clock::now() - start).count(), usage.ru_maxrss};
}

bool mkfs_erofs(const fs::path& tree, const fs::path& image) {
    // A fixed UUID, so that equal trees give equal images.
    auto made = run_program_checked({"/usr/bin/mkfs.erofs", "--quiet", "--all-root", "-T0",
                                     "-U00000000-0000-0000-0000-000000000000", image.string(), tree.string()});
    if (!made) std::fprintf(stderr, "packages_bench: %s\n", made.error().message.c_str());
    return made.has_value();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

tuf_repo::SigningKey new_key() {
    auto key = must(crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519), "generating a key");
    return must(tuf_repo::read_key_file(must(tuf_repo::write_key_file(key, std::nullopt), "key file"), std::nullopt),
                "key file");
}

}  // namespace

int main(int argc, char** argv) {
    const fs::path base = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path();
    const fs::path work = base / ("packages-bench-" + std::to_string(::getpid()));
    fs::create_directories(work);
    ::chmod(work.c_str(), 0755);
    std::printf("building %d packages with makepkg...\n", kPackages);
    std::fflush(stdout);
    std::mt19937_64 random(9);
    std::vector<fs::path> packages;
    const fs::path pool = work / "pool";
    fs::create_directories(pool);
    for (int i = 0; i < kPackages; ++i) {
        const auto built = build_package(work, i, random);
        fs::copy_file(built, pool / built.filename());
        packages.push_back(pool / built.filename());
    }
    std::vector<std::string> add = {"/usr/bin/repo-add", "--quiet", (pool / "bench.db.tar.zst").string()};
    for (const auto& package : packages) add.push_back(package.string());
    must(run_program_checked(add), "repo-add");

    // Two rebuilders reproduced everything; the repository publishes the app version.
    std::vector<crypto::PrivateKey> rebuilders;
    attest::RebuilderPolicy policy;
    for (int i = 0; i < 2; ++i) {
        rebuilders.push_back(must(crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519), "rebuilder key"));
        policy.keys.push_back(must(attest::rebuilder_key_from_public_hex(rebuilders.back().public_value()), "key"));
    }
    policy.threshold = 2;
    for (const auto& package : packages) {
        const auto bytes = must(read_file_bounded(package.string(), std::size_t{1} << 30), "reading a package");
        attest::LinkRequest request;
        request.products = {{package.filename().string(),
                             {crypto::digest(crypto::HashAlgorithm::sha256, bytes),
                              crypto::digest(crypto::HashAlgorithm::sha512, bytes)}}};
        for (std::size_t i = 0; i < rebuilders.size(); ++i) {
            write(work / "links" / package.filename() / attest::link_file_name("rebuild", policy.keys[i].keyid),
                  must(attest::make_link(request, rebuilders[i]), "link"));
        }
    }
    const auto root_key = new_key();
    const auto targets_key = new_key();
    const auto snapshot_key = new_key();
    const auto timestamp_key = new_key();
    tuf_repo::InitOptions options;
    options.root = {{root_key.identity}, 1};
    options.targets = {{targets_key.identity}, 1};
    options.snapshot = {{snapshot_key.identity}, 1};
    options.timestamp = {{timestamp_key.identity}, 1};
    const auto repo_dir = (work / "repo").string();
    (void)must(tuf_repo::Repository::create(repo_dir, options, tuf::now()), "creating the repository");
    curate::CurateRequest request;
    request.app = "bench-app";
    request.snapshot = "2026-11-27";
    request.repositories = {{"bench", (pool / "bench.db").string(), pool.string(), {"file://" + pool.string() + "/"}}};
    request.attestations_dir = (work / "links").string();
    request.rebuilders = policy;
    const auto curated = must(curate::curate_app(request), "curating");
    {
        auto repository = must(tuf_repo::Repository::open(repo_dir, tuf::now()), "opening the repository");
        must(curate::stage_app(repository, request, curated), "staging");
        for (const auto* key : {&root_key, &targets_key}) (void)must(repository.sign(*key, {}), "signing");
        (void)must(repository.publish({&snapshot_key}, {&timestamp_key}), "publishing");
    }
    std::uint64_t packed = 0;
    for (const auto& package : packages) packed += fs::file_size(package);
    std::printf("closure: %zu packages, %.1f MiB packed\n", curated.packages.size(),
                static_cast<double>(packed) / (1 << 20));

    std::vector<double> ours_seconds;
    std::vector<double> floor_seconds;
    long ours_rss = 0;
    long floor_rss = 0;
    for (int run = 0; run < kRuns; ++run) {
        const fs::path client = work / ("client-" + std::to_string(run));
        fs::create_directories(client / "metadata");
        fs::create_directories(client / "tree");
        fs::permissions(client / "tree", fs::perms::owner_all, fs::perm_options::replace);
        fs::copy_file(work / "repo/published/metadata/1.root.json", client / "metadata/root.json");
        const auto ours = measure([&] {
            appstore::ClientConfig config;
            config.metadata_dir = (client / "metadata").string();
            config.metadata_url = "file://" + (work / "repo/published/metadata/").string();
            config.targets_url = "file://" + (work / "repo/published/targets/").string();
            config.cache_dir = (client / "cache").string();
            config.rebuilders = policy;
            config.patches = appstore::PatchPolicy::warn;
            const auto fetcher = fetch::make_fetcher();
            appstore::AppStore store(config, *fetcher);
            auto prepared = store.prepare("bench-app", std::nullopt, (client / "tree").string());
            if (!prepared) {
                std::fprintf(stderr, "packages_bench: %s\n", prepared.error().message.c_str());
                return false;
            }
            // The tree was built private (0700); the image's root is the usual 0755.
            fs::permissions(client / "tree",
                            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec,
                            fs::perm_options::replace);
            return mkfs_erofs(client / "tree", client / "root.erofs");
        });
        const fs::path floor_tree = work / ("floor-" + std::to_string(run));
        fs::create_directories(floor_tree / "tree");
        const auto floor = measure([&] {
            for (const auto& package : packages) {
                auto unpacked = run_program_checked({"/usr/bin/bsdtar", "-xf", package.string(), "-C",
                                                     (floor_tree / "tree").string(), "--exclude", ".PKGINFO",
                                                     "--exclude", ".BUILDINFO", "--exclude", ".MTREE"});
                if (!unpacked) return false;
            }
            return mkfs_erofs(floor_tree / "tree", floor_tree / "root.erofs");
        });
        ours_seconds.push_back(ours.seconds);
        floor_seconds.push_back(floor.seconds);
        ours_rss = std::max(ours_rss, ours.peak_rss_kib);
        floor_rss = std::max(floor_rss, floor.peak_rss_kib);
        // Same tree on both sides, so the images must be equal.
        const auto ours_image =
            must(read_file_bounded((client / "root.erofs").string(), std::size_t{1} << 31), "image");
        const auto floor_image =
            must(read_file_bounded((floor_tree / "root.erofs").string(), std::size_t{1} << 31), "image");
        if (ours_image != floor_image) {
            const auto diff = run_program({"/usr/bin/diff", "-r", "--no-dereference", (client / "tree").string(),
                                           (floor_tree / "tree").string()});
            die("our erofs image differs from the floor's; diff -r says:\n" + (diff ? diff->out.substr(0, 2000) : ""));
        }
        fs::remove_all(client);
        fs::remove_all(floor_tree);
    }
    const double ours = median(ours_seconds);
    const double floor = median(floor_seconds);
    std::printf("ours  (TUF, rebuilders, .MTREE, unpack, mkfs.erofs): %.2f s, peak RSS %ld KiB\n", ours, ours_rss);
    std::printf("floor (bsdtar -x, mkfs.erofs):                       %.2f s, peak RSS %ld KiB\n", floor, floor_rss);
    std::printf("ratio: %.2f (target <= 1.2: %s)\n", ours / floor, ours / floor <= 1.2 ? "met" : "missed");
    fs::remove_all(work);
    return 0;
}
