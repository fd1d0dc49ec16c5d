// The system image builder: its spec, its ELF and PE readers (against readelf and objdump), and
// a whole build checked with independent tools: sgdisk and sfdisk (the disk), veritysetup (the
// root hash), sbverify (the UKI's signature), objdump (its sections), mtools (the ESP). The boot
// of such an image under OVMF is tests/vm/core_image_test.cpp.
#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "gpt/gpt.hpp"
#include "image/builder.hpp"
#include "image/elf.hpp"
#include "image/spec.hpp"
#include "image/uki.hpp"
#include "secureboot/owner_keys.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::image {
namespace {

namespace fs = std::filesystem;

const std::string kBin = BULKHEAD_BIN_DIR;
const fs::path kSource = fs::path(BULKHEAD_FIXTURES_DIR).parent_path().parent_path();
constexpr std::string_view kStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

std::string small_spec(const std::string& version, const std::string& extra_file = "") {
    return "version = \"" + version + "\"\nsecurity_version = 1\n[kernel]\nimage = \"" +
           (kSource / "build-guest/kernel/current/vmlinuz").string() + "\"\nmodules_dir = \"" +
           (kSource / "build-guest/kernel/current/modules").string() + "\"\ninitrd_modules = \"" +
           (kSource / "deps/core-initrd-modules.txt").string() + "\"\nefi_stub = \"" + std::string(kStub) +
           "\"\nargs = [\"console=ttyS0\"]\n[initrd]\ninit = \"" + kBin +
           "/bulkhead-initrd\"\nfiles = [\n  { source = \"" + kBin +
           "/bulkhead-tpm-floor\", target = \"/bin/bulkhead-tpm-floor\", mode = \"0755\", libraries = true },\n"
           "  { source = \"/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0\", target = "
           "\"/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0\", mode = \"0644\" },\n]\n"
           "[root]\ndirectories = [\"/proc\", \"/sys\", \"/dev\"]\nfiles = [\n"
           "  { source = \"" +
           kBin +
           "/bulkhead-init\", target = \"/sbin/bulkhead-init\", mode = \"0755\" },\n"
           "  { source = \"/usr/bin/true\", target = \"/usr/bin/true\", mode = \"0755\", libraries = true },\n" +
           extra_file + "]\n[disk]\nesp_mib = 512\nroot_slot_mib = 16\nverity_slot_mib = 1\nstate_mib = 16\n";
}

TEST(ImageSpec, TheRepositorysSpecParses) {
    auto text = read_file_bounded((kSource / "image/bulkhead.toml").string(), 1 << 20);
    ASSERT_TRUE(text);
    auto spec = parse_image_spec(*text, "image/bulkhead.toml", (kSource / "image").string());
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->files.front().target, "/sbin/bulkhead-init");
    EXPECT_EQ(spec->esp_mib, 512U);
}

TEST(ImageSpec, MistakesAreRefusedWithTheirPlace) {
    const std::string good = small_spec("1.0");
    ASSERT_TRUE(parse_image_spec(good, "spec.toml", "/"));
    struct Case {
        std::string from;
        std::string to;
        std::string message;
    };
    for (const Case& c : std::vector<Case>{
             {"version = \"1.0\"", "version = \"1/0\"", "version: must be 1 to 64 characters"},
             {"security_version = 1\n", "", "security_version: is required"},
             {"security_version = 1\n", "security_version = 65536\n", "security_version: must be between 0"},
             {"security_version = 1\n", "security_version = \"1\"\n", "security_version: must be a whole number"},
             {"target = \"/usr/bin/true\"", "target = \"/usr/../etc/true\"", "must be an absolute path"},
             {"mode = \"0755\" },\n  { source = \"/usr/bin/true\"",
              "mode = \"4755\" },\n  { source = \"/usr/bin/true\"", "set-id and sticky bits are not allowed"},
             {"args = [\"console=ttyS0\"]", "args = [\"init=/bin/sh\"]", "are set by the builder"},
             {"args = [\"console=ttyS0\"]", "args = [\"bulkhead.verity=00\"]", "are set by the builder"},
             {"esp_mib = 512", "esp_mib = 48", "disk.esp_mib: must be between 512"},
             {"[disk]", "[disk]\nswap_mib = 1", "disk.swap_mib: unknown key"},
             {"libraries = true", "libraries = \"yes\"", "must be true or false"},
             {"target = \"/bin/bulkhead-tpm-floor\"", "target = \"/init\"", "initrd.files.target: may not be /init"},
             {"target = \"/bin/bulkhead-tpm-floor\", mode = \"0755\"",
              "target = \"/bin/bulkhead-tpm-floor\", mode = \"0755\", strip = true", "initrd.files.strip: is for root"},
             {"target = \"/bin/bulkhead-tpm-floor\"", "target = \"bin/bulkhead-tpm-floor\"",
              "initrd.files.target: must be an absolute path"},
             {"[initrd]\n", "[initrd]\nmodules = []\n", "initrd.modules: unknown key"},
         }) {
        std::string text = good;
        ASSERT_NE(text.find(c.from), std::string::npos) << c.from;
        text.replace(text.find(c.from), c.from.size(), c.to);
        auto refused = parse_image_spec(text, "spec.toml", "/");
        ASSERT_FALSE(refused) << c.to;
        EXPECT_NE(refused.error().message.find(c.message), std::string::npos) << refused.error().message;
        EXPECT_TRUE(refused.error().message.starts_with("spec.toml")) << refused.error().message;
    }
}

TEST(Elf, DependenciesMatchReadelf) {
    for (const char* program : {"/usr/bin/qemu-system-x86_64", "/usr/bin/true"}) {
        auto bytes = read_file_bounded(program, std::size_t{256} << 20);
        ASSERT_TRUE(bytes);
        auto ours = read_elf_dependencies(*bytes);
        ASSERT_TRUE(ours) << ours.error().message;
        EXPECT_EQ(ours->interpreter, "/lib64/ld-linux-x86-64.so.2");
        auto dynamic = run_program_checked({"/usr/bin/readelf", "-d", program});
        ASSERT_TRUE(dynamic);
        std::vector<std::string> theirs;
        for (std::size_t at = dynamic->out.find("Shared library: ["); at != std::string::npos;
             at = dynamic->out.find("Shared library: [", at + 1)) {
            const std::size_t start = at + 17;
            theirs.push_back(dynamic->out.substr(start, dynamic->out.find(']', start) - start));
        }
        EXPECT_EQ(ours->needed, theirs) << program;
    }
    auto init = read_file_bounded(kBin + "/bulkhead-init", std::size_t{64} << 20);
    ASSERT_TRUE(init);
    auto static_program = read_elf_dependencies(*init);
    ASSERT_TRUE(static_program);
    EXPECT_TRUE(static_program->interpreter.empty());
    EXPECT_TRUE(static_program->needed.empty());
    EXPECT_FALSE(read_elf_dependencies("#!/bin/sh\n"));
    std::string truncated = init->substr(0, 100);
    EXPECT_FALSE(read_elf_dependencies(truncated));
}

TEST(Pe, SectionsMatchObjdump) {
    auto stub = read_file_bounded(std::string(kStub), 1 << 22);
    ASSERT_TRUE(stub);
    auto sections = read_pe_sections(*stub);
    ASSERT_TRUE(sections) << sections.error().message;
    auto dumped = run_program_checked({"/usr/bin/objdump", "-h", std::string(kStub)});
    ASSERT_TRUE(dumped);
    for (const PeSection& section : *sections) {
        EXPECT_NE(dumped->out.find(section.name), std::string::npos) << section.name;
        const std::string address = hex(section.address, 16).substr(2);
        EXPECT_NE(dumped->out.find(address), std::string::npos) << section.name << " at " << address;
    }
    EXPECT_FALSE(read_pe_sections("MZ"));
    EXPECT_FALSE(read_pe_sections(stub->substr(0, 200)));
}

// One build, checked by other tools; then refusals that must leave nothing behind.
class ImageBuild : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        auto key = secureboot::generate_owner_key("Bulkhead test db", "pass");
        ASSERT_TRUE(key) << key.error().message;
        auto secret = secureboot::decrypt_owner_key(key->encrypted_key_pem, "pass");
        ASSERT_TRUE(secret);
        db = new SigningIdentity{*secret, key->certificate_pem};
    }
    static void TearDownTestSuite() {
        delete db;
        db = nullptr;
    }
    static SigningIdentity* db;
    const testing::TempDir dir;
};
SigningIdentity* ImageBuild::db = nullptr;

TEST_F(ImageBuild, EveryArtifactChecksOutWithIndependentTools) {
    ASSERT_NE(db, nullptr);
    auto spec = parse_image_spec(small_spec("1.2.3-test"), "spec.toml", "/");
    ASSERT_TRUE(spec) << spec.error().message;
    const std::string out = (dir.path() / "out").string();
    auto built = build_image(*spec, out, *db);
    ASSERT_TRUE(built) << built.error().message;
    EXPECT_EQ(built->version, "1.2.3-test");
    EXPECT_NE(built->command_line.find("bulkhead.verity=" + built->root_hash +
                                       " bulkhead.version=1.2.3-test bulkhead.security=1"),
              std::string::npos);
    EXPECT_TRUE(built->command_line.starts_with("lockdown=confidentiality gpt console=ttyS0"));

    // The manifest names every artifact with its digest.
    const auto manifest = nlohmann::json::parse(testing::read_whole_file(dir.path() / "out/manifest.json"));
    EXPECT_EQ(manifest.at("root_hash"), built->root_hash);
    for (const auto& artifact : manifest.at("artifacts")) {
        auto digest = run_program_checked({"/usr/bin/sha256sum", out + "/" + artifact.at("name").get<std::string>()});
        ASSERT_TRUE(digest);
        EXPECT_EQ(digest->out.substr(0, 64), artifact.at("sha256")) << artifact.at("name");
    }

    // veritysetup accepts the tree for the root image under the root hash.
    auto verified =
        run_program({"/usr/sbin/veritysetup", "verify", out + "/root.erofs", out + "/root.verity", built->root_hash});
    ASSERT_TRUE(verified);
    EXPECT_EQ(verified->exit_code, 0) << verified->err;

    // The UKI: signed by the db key, with our sections and command line.
    const std::string cert = dir.write("db.crt", db->certificate_pem).string();
    auto signature = run_program({"/usr/bin/sbverify", "--cert", cert, out + "/bulkhead.efi"});
    ASSERT_TRUE(signature);
    EXPECT_EQ(signature->exit_code, 0) << signature->out << signature->err;
    auto sections = run_program_checked({"/usr/bin/objdump", "-h", out + "/bulkhead.efi"});
    ASSERT_TRUE(sections);
    for (const char* name : {".osrel", ".cmdline", ".initrd", ".linux"}) {
        EXPECT_NE(sections->out.find(name), std::string::npos) << name;
    }
    auto cmdline = run_program_checked({"/usr/bin/objcopy", "-O", "binary", "--only-section=.cmdline",
                                        out + "/bulkhead.efi", (dir.path() / "cmdline").string()});
    ASSERT_TRUE(cmdline);
    EXPECT_EQ(testing::read_whole_file(dir.path() / "cmdline"), built->command_line);

    // The disk: a valid GPT whose root and verity partitions carry the halves of the root hash
    // and hold the two images; the ESP holds the signed UKI where firmware looks.
    const std::string disk = out + "/disk.img";
    auto sgdisk = run_program({"/usr/sbin/sgdisk", "--verify", disk});
    ASSERT_TRUE(sgdisk);
    EXPECT_NE(sgdisk->out.find("No problems found"), std::string::npos) << sgdisk->out;
    auto table = run_program_checked({"/usr/sbin/sfdisk", "--json", disk});
    ASSERT_TRUE(table);
    const auto partitions = nlohmann::json::parse(table->out).at("partitiontable").at("partitions");
    ASSERT_EQ(partitions.size(), 6U);
    const std::string hash = built->root_hash;
    auto upper = [](std::string text) {
        for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return text;
    };
    const std::string raw_hash = *hex_decode(hash);
    EXPECT_EQ(partitions[1].at("name"), "root-a");
    EXPECT_EQ(partitions[1].at("uuid"), upper(gpt::guid_text(gpt::guid_from_bytes(raw_hash.substr(0, 16)))));
    EXPECT_EQ(partitions[2].at("uuid"), upper(gpt::guid_text(gpt::guid_from_bytes(raw_hash.substr(16)))));
    EXPECT_EQ(partitions[0].at("size").get<std::uint64_t>() * 512, std::uint64_t{512} << 20);
    const std::string disk_bytes = testing::read_whole_file(disk);
    const std::string root = testing::read_whole_file(out + "/root.erofs");
    const std::uint64_t root_offset = partitions[1].at("start").get<std::uint64_t>() * 512;
    EXPECT_TRUE(disk_bytes.compare(root_offset, root.size(), root) == 0) << "root-a does not hold root.erofs";
    const std::string esp_copy = (dir.path() / "BOOTX64.EFI").string();
    const std::string esp_at = disk + "@@" + std::to_string(partitions[0].at("start").get<std::uint64_t>() * 512);
    ASSERT_TRUE(run_program_checked({"/usr/bin/mcopy", "-i", esp_at, "::EFI/BOOT/BOOTX64.EFI", esp_copy}));
    EXPECT_TRUE(testing::read_whole_file(esp_copy) == testing::read_whole_file(out + "/bulkhead.efi"));

    // The initramfs, listed by GNU cpio: /init, the floor reader with every library it needs
    // (from ldd, independently of our ELF reader) and the TCTI its loader opens.
    auto listed = run_program_checked({"/usr/bin/cpio", "-it", "--quiet", "-F", out + "/initrd.cpio"});
    ASSERT_TRUE(listed) << listed.error().message;
    std::set<std::string> entries;
    for (std::size_t at = 0; at < listed->out.size();) {
        const std::size_t end = listed->out.find('\n', at);
        entries.insert(listed->out.substr(at, end - at));
        at = end == std::string::npos ? listed->out.size() : end + 1;
    }
    for (const char* entry : {"init", "dev/console", "bin/bulkhead-tpm-floor",
                              "usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0", "lib64/ld-linux-x86-64.so.2"}) {
        EXPECT_TRUE(entries.contains(entry)) << entry << " missing from\n" << listed->out;
    }
    auto needed = run_program_checked({"/usr/bin/ldd", kBin + "/bulkhead-tpm-floor"});
    ASSERT_TRUE(needed) << needed.error().message;
    std::size_t libraries = 0;
    for (std::size_t at = needed->out.find("=> /"); at != std::string::npos; at = needed->out.find("=> /", at + 1)) {
        const std::size_t end = needed->out.find(' ', at + 3);
        const std::string library = needed->out.substr(at + 4, end - at - 4);  // "=> /" then no leading '/'

        EXPECT_TRUE(entries.contains(library)) << library << " missing from\n" << listed->out;
        ++libraries;
    }
    EXPECT_GE(libraries, 5U) << needed->out;

    // Reproducible: the same spec gives the same root, tree and initrd.
    const std::string again = (dir.path() / "again").string();
    auto rebuilt = build_image(*spec, again, *db);
    ASSERT_TRUE(rebuilt) << rebuilt.error().message;
    EXPECT_EQ(rebuilt->root_hash, built->root_hash);
    for (const char* name : {"root.erofs", "root.verity", "initrd.cpio"}) {
        EXPECT_TRUE(testing::read_whole_file(out + "/" + name) == testing::read_whole_file(again + "/" + name)) << name;
    }
}

TEST_F(ImageBuild, RefusedBuildsLeaveNothingBehind) {
    ASSERT_NE(db, nullptr);
    // A root that does not fit its slot, a missing file, an output that exists.
    const std::string big = dir.write("big.bin", std::string(20 << 20, 'x')).string();
    auto too_big = parse_image_spec(
        small_spec("1", "  { source = \"" + big + "\", target = \"/big.bin\", mode = \"0644\" },\n"), "s", "/");
    ASSERT_TRUE(too_big);
    auto missing = parse_image_spec(
        small_spec("1", "  { source = \"/nonexistent/file\", target = \"/x\", mode = \"0644\" },\n"), "s", "/");
    ASSERT_TRUE(missing);
    const auto before = [&] {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(dir.path())) names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    };
    const auto listing = before();
    auto refused = build_image(*too_big, (dir.path() / "out").string(), *db);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("does not fit a root slot of 16 MiB"), std::string::npos)
        << refused.error().message;
    refused = build_image(*missing, (dir.path() / "out").string(), *db);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("/nonexistent/file"), std::string::npos) << refused.error().message;
    EXPECT_EQ(before(), listing);
    fs::create_directory(dir.path() / "taken");
    refused = build_image(*missing, (dir.path() / "taken").string(), *db);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("exists already"), std::string::npos);
    EXPECT_TRUE(fs::is_empty(dir.path() / "taken"));
}

}  // namespace
}  // namespace bulkhead::image
