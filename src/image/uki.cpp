#include "image/uki.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>

#include "base/bytes.hpp"
#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "base/unique_fd.hpp"

namespace bulkhead::image {

namespace {

constexpr std::size_t kMaxStubBytes = std::size_t{4} << 20;
constexpr std::uint64_t kAlign = 4096;
constexpr std::uint16_t kPe32PlusMagic = 0x20b;

std::uint64_t align_up(std::uint64_t value) { return (value + kAlign - 1) / kAlign * kAlign; }

}  // namespace

Result<std::vector<PeSection>> read_pe_sections(std::string_view image) {
    if (image.size() < 0x40 || image.substr(0, 2) != "MZ")
        return fail(ErrorCode::parse, "not a PE image (no MZ header)");
    const std::uint64_t pe = load_le(image, 0x3c, 4);
    if (pe > image.size() || image.size() - pe < 24 || image.substr(pe, 4) != std::string_view("PE\0\0", 4)) {
        return fail(ErrorCode::parse, "not a PE image (no PE signature)");
    }
    const std::uint64_t sections = load_le(image, pe + 6, 2);
    const std::uint64_t optional_size = load_le(image, pe + 20, 2);
    const std::uint64_t optional = pe + 24;
    if (optional_size < 32 || optional + optional_size > image.size() ||
        load_le(image, optional, 2) != kPe32PlusMagic) {
        return fail(ErrorCode::parse, "not a PE32+ image");
    }
    const std::uint64_t image_base = load_le(image, optional + 24, 8);
    const std::uint64_t table = optional + optional_size;
    if (sections == 0 || sections > 96 || table + sections * 40 > image.size()) {
        return fail(ErrorCode::parse, "PE section table out of bounds");
    }
    std::vector<PeSection> result;
    for (std::uint64_t i = 0; i < sections; ++i) {
        const std::string_view header = image.substr(table + i * 40, 40);
        const std::string_view raw_name = header.substr(0, 8);
        PeSection section;
        section.name = std::string(raw_name.substr(0, raw_name.find('\0')));
        section.size = load_le(header, 8, 4);
        section.address = image_base + load_le(header, 12, 4);
        section.file_size = load_le(header, 16, 4);
        section.file_offset = load_le(header, 20, 4);
        result.push_back(std::move(section));
    }
    return result;
}

Result<void> assemble_uki(const UkiParts& parts, const std::string& output, const std::string& objcopy,
                          const std::string& work_dir) {
    auto stub = read_file_bounded(parts.stub, kMaxStubBytes);
    if (!stub) return fail(stub.error());
    auto sections = read_pe_sections(*stub);
    if (!sections) return fail(ErrorCode::parse, parts.stub + ": " + sections.error().message);
    std::uint64_t next = 0;
    for (const PeSection& section : *sections) {
        for (const char* ours : {".osrel", ".cmdline", ".linux", ".initrd"}) {
            if (section.name == ours)
                return fail(ErrorCode::invalid_argument, parts.stub + " already has " + section.name);
        }
        next = std::max(next, section.address + section.size);
    }
    const std::string cmdline_file = work_dir + "/cmdline.txt";
    const std::string osrel_file = work_dir + "/os-release";
    if (auto written = write_file_atomically(cmdline_file, parts.command_line, 0644, false); !written) return written;
    if (auto written = write_file_atomically(osrel_file, parts.os_release, 0644, false); !written) return written;
    // --strip-all drops the stub's COFF symbols (sbsign would see gaps between sections);
    // .linux goes last, as systemd's own tools place it.
    std::vector<std::string> argv = {objcopy, "--strip-all"};
    for (const auto& [name, file] : {std::pair{".osrel", osrel_file}, std::pair{".cmdline", cmdline_file},
                                     std::pair{".initrd", parts.initrd}, std::pair{".linux", parts.kernel}}) {
        struct stat info {};
        if (::stat(file.c_str(), &info) != 0) return fail(Error::from_errno(errno, "reading " + file));
        next = align_up(next);
        argv.insert(argv.end(), {"--add-section", concat({name, "=", file}), "--change-section-vma",
                                 concat({name, "=", hex(next)})});
        next += static_cast<std::uint64_t>(info.st_size);
    }
    argv.insert(argv.end(), {parts.stub, output});
    auto made = run_program_checked(argv);
    if (!made) return fail(made.error());
    // objcopy stamps the build time into the COFF header (and a checksum over it): both zeroed,
    // so the same inputs give the same unsigned image.
    const UniqueFd fd(::open(output.c_str(), O_RDWR | O_CLOEXEC));
    std::array<unsigned char, 4> pe_offset{};
    if (!fd.valid() || ::pread(fd.get(), pe_offset.data(), 4, 0x3c) != 4) {
        return fail(Error::from_errno(errno, "reading " + output));
    }
    const auto pe = static_cast<off_t>(pe_offset[0] | pe_offset[1] << 8U | pe_offset[2] << 16U | pe_offset[3] << 24U);
    const std::array<unsigned char, 4> zero{};
    if (::pwrite(fd.get(), zero.data(), 4, pe + 8) != 4 || ::pwrite(fd.get(), zero.data(), 4, pe + 88) != 4) {
        return fail(Error::from_errno(errno, "writing " + output));
    }
    std::error_code ignored;
    std::filesystem::remove(cmdline_file, ignored);
    std::filesystem::remove(osrel_file, ignored);
    return {};
}

}  // namespace bulkhead::image

namespace bulkhead::image {

Result<std::string> read_uki_command_line(const std::string& path) {
    constexpr std::size_t kHeaderBytes = 65536;
    constexpr std::uint64_t kMaxCommandLine = 4096;
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW));
    if (!fd.valid()) return fail(Error::from_errno(errno, "opening " + path));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return fail(ErrorCode::invalid_argument, path + " is not a regular file");
    }
    const auto file_size = static_cast<std::uint64_t>(info.st_size);
    std::string headers(static_cast<std::size_t>(std::min<std::uint64_t>(kHeaderBytes, file_size)), '\0');
    if (::pread(fd.get(), headers.data(), headers.size(), 0) != static_cast<ssize_t>(headers.size())) {
        return fail(Error::from_errno(errno, "reading " + path));
    }
    auto sections = read_pe_sections(headers);
    if (!sections) return fail(ErrorCode::parse, path + ": " + sections.error().message);
    for (const PeSection& section : *sections) {
        if (section.name != ".cmdline") continue;
        const std::uint64_t size = std::min(section.size, section.file_size);
        if (size > kMaxCommandLine || section.file_offset > file_size || size > file_size - section.file_offset) {
            return fail(ErrorCode::parse, path + ": the .cmdline section is out of bounds or too large");
        }
        std::string text(static_cast<std::size_t>(size), '\0');
        if (::pread(fd.get(), text.data(), text.size(), static_cast<off_t>(section.file_offset)) !=
            static_cast<ssize_t>(text.size())) {
            return fail(Error::from_errno(errno, "reading " + path));
        }
        while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.pop_back();
        if (text.find('\0') != std::string::npos) return fail(ErrorCode::parse, path + ": the .cmdline holds a NUL");
        return text;
    }
    return fail(ErrorCode::not_found, path + " has no .cmdline section");
}

}  // namespace bulkhead::image
