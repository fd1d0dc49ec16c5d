// Real Arch packages for the tests, built by Debian's makepkg (pacman 6.0.2) from PKGBUILDs
// written here, and rewritten member by member (libarchive) to make tampered copies. makepkg
// refuses to run as root, so as root it runs as nobody in a directory nobody owns.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <grp.h>
#include <locale.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::testing {

inline constexpr uid_t kNobody = 65534;
inline constexpr const char* kSourceDateEpoch = "1700000000";

// Runs makepkg with `args` in `dir` (which holds the PKGBUILD) and returns its exit status and
// its output (stdout and stderr together). `extension` is makepkg's PKGEXT.
inline std::pair<int, std::string> makepkg_in(const std::filesystem::path& dir, const std::vector<std::string>& args,
                                              const std::string& extension = ".pkg.tar.zst") {
    const bool as_root = ::geteuid() == 0;
    if (as_root) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
            EXPECT_EQ(::lchown(entry.path().c_str(), kNobody, kNobody), 0);
        }
        EXPECT_EQ(::chown(dir.c_str(), kNobody, kNobody), 0);
    }
    std::array<int, 2> output{};
    if (::pipe2(output.data(), O_CLOEXEC) != 0) return {-1, "pipe2 failed"};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(output[1], STDOUT_FILENO);
        ::dup2(output[1], STDERR_FILENO);
        if (::chdir(dir.c_str()) != 0) ::_exit(126);
        if (as_root && (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
                        ::setresuid(kNobody, kNobody, kNobody) != 0)) {
            ::_exit(125);
        }
        const std::string home = "HOME=" + dir.string();
        const std::string pkgext = "PKGEXT=" + extension;
        const std::string epoch = std::string("SOURCE_DATE_EPOCH=") + kSourceDateEpoch;
        std::vector<const char*> env = {"PATH=/usr/bin:/bin",
                                        home.c_str(),
                                        pkgext.c_str(),
                                        epoch.c_str(),
                                        "LC_ALL=C.UTF-8",
                                        "PACKAGER=Bulkhead Tests <tests@bulkhead.invalid>",
                                        nullptr};
        std::vector<const char*> argv = {"/usr/bin/makepkg"};
        for (const auto& arg : args) argv.push_back(arg.c_str());
        argv.push_back(nullptr);
        ::execve(argv[0], const_cast<char* const*>(argv.data()), const_cast<char* const*>(env.data()));
        ::_exit(127);
    }
    ::close(output[1]);
    std::string log;
    std::array<char, 4096> buffer{};
    for (ssize_t got = 0; (got = ::read(output[0], buffer.data(), buffer.size())) > 0;) {
        log.append(buffer.data(), static_cast<std::size_t>(got));
    }
    ::close(output[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, log};
}

// Builds the package in `dir` and returns its file's path, or "" with a test failure.
inline std::filesystem::path run_makepkg(const std::filesystem::path& dir,
                                         const std::string& extension = ".pkg.tar.zst") {
    const auto [status, log] = makepkg_in(dir, {"--nodeps", "--noconfirm", "--noprogressbar", "--force"}, extension);
    EXPECT_EQ(status, 0) << "makepkg failed:\n" << log;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().filename().string().ends_with(extension)) return entry.path();
    }
    ADD_FAILURE() << "makepkg left no *" << extension << " in " << dir << ":\n" << log;
    return {};
}

// One member of an archive: its header (owned) and its data.
struct Member {
    std::shared_ptr<archive_entry> entry;
    std::string data;

    [[nodiscard]] std::string path() const { return archive_entry_pathname_utf8(entry.get()); }
};

// The tests read and write UTF-8 names, as the package reader does.
inline void use_utf8_names() {
    static const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
    ::uselocale(utf8);
}

inline std::shared_ptr<archive_entry> make_entry() { return {archive_entry_new(), archive_entry_free}; }

inline std::vector<Member> read_members(const std::filesystem::path& file) {
    use_utf8_names();
    std::vector<Member> members;
    archive* reader = archive_read_new();
    archive_read_support_filter_all(reader);
    archive_read_support_format_all(reader);
    EXPECT_EQ(archive_read_open_filename(reader, file.c_str(), 65536), ARCHIVE_OK) << file;
    archive_entry* entry = nullptr;
    while (archive_read_next_header(reader, &entry) == ARCHIVE_OK) {
        Member member{{archive_entry_clone(entry), archive_entry_free}, {}};
        std::array<char, 65536> buffer{};
        for (la_ssize_t got = 0; (got = archive_read_data(reader, buffer.data(), buffer.size())) > 0;) {
            member.data.append(buffer.data(), static_cast<std::size_t>(got));
        }
        members.push_back(std::move(member));
    }
    archive_read_free(reader);
    return members;
}

// Writes members as a pax tar with the given libarchive filter (ARCHIVE_FILTER_ZSTD, ...).
inline void write_members(const std::filesystem::path& file, const std::vector<Member>& members,
                          int filter = ARCHIVE_FILTER_ZSTD) {
    use_utf8_names();
    archive* writer = archive_write_new();
    archive_write_set_format_pax_restricted(writer);
    ASSERT_EQ(archive_write_add_filter(writer, filter), ARCHIVE_OK) << archive_error_string(writer);
    ASSERT_EQ(archive_write_open_filename(writer, file.c_str()), ARCHIVE_OK);
    for (const auto& member : members) {
        if (archive_entry_filetype(member.entry.get()) == AE_IFREG &&
            archive_entry_hardlink(member.entry.get()) == nullptr) {
            archive_entry_set_size(member.entry.get(), static_cast<la_int64_t>(member.data.size()));
        }
        ASSERT_EQ(archive_write_header(writer, member.entry.get()), ARCHIVE_OK) << archive_error_string(writer);
        if (!member.data.empty()) {
            ASSERT_EQ(archive_write_data(writer, member.data.data(), member.data.size()),
                      static_cast<la_ssize_t>(member.data.size()));
        }
    }
    archive_write_close(writer);
    archive_write_free(writer);
}

inline Member* find_member(std::vector<Member>& members, const std::string& path) {
    for (auto& member : members) {
        if (member.path() == path) return &member;
    }
    ADD_FAILURE() << "no member " << path;
    return nullptr;
}

}  // namespace bulkhead::testing
