// The patchless verdict on PKGBUILDs written like Arch's: .SRCINFO made from them by makepkg
// --printsrcinfo, each patch form found with its line, clean recipes judged patchless, and the
// PKGBUILD bound to the package through BUILDINFO's pkgbuild_sha256sum.
#include "curate/patches.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "archpkg/package.hpp"
#include "archpkg/sample_packages.hpp"
#include "base/text.hpp"
#include "crypto/digest.hpp"

namespace bulkhead::curate {
namespace {

std::string sha256_hex(std::string_view text) {
    return hex_encode(crypto::digest(crypto::HashAlgorithm::sha256, text));
}

const std::string kSrcinfoHeader = "pkgbase = demo\n\tpkgver = 1.0\n\tpkgrel = 1\n\tarch = x86_64\n";

Result<PatchEvidence> judge(const std::string& srcinfo_sources, const std::string& pkgbuild) {
    return assess_patches(kSrcinfoHeader + srcinfo_sources + "\npkgname = demo\n", pkgbuild, sha256_hex(pkgbuild));
}

std::vector<std::string> rules(const PatchEvidence& evidence) {
    std::vector<std::string> out;
    out.reserve(evidence.findings.size());
    for (const auto& finding : evidence.findings) {
        out.push_back(finding.file + ":" + std::to_string(finding.line) + ": " + finding.rule);
    }
    return out;
}

const std::string kCleanPkgbuild = R"(pkgname=demo
pkgver=1.0
pkgrel=1
arch=('x86_64')
source=("https://example.invalid/demo-$pkgver.tar.gz"
        "git+https://example.invalid/demo.git#tag=v$pkgver")
sha256sums=('SKIP' 'SKIP')

prepare() {
  cd demo-$pkgver
  # patch nothing here; comments do not count: sed -i, git apply
  autoreconf -fi
}

build() {
  cd demo-$pkgver
  ./configure --prefix=/usr
  make
}

package() {
  cd demo-$pkgver
  make DESTDIR="$pkgdir" install
  sed -i 's|/usr/local|/usr|' "$pkgdir/usr/share/demo.desktop"
}
)";

TEST(Patches, CleanRecipeIsPatchless) {
    auto evidence = judge("\tsource = https://example.invalid/demo-1.0.tar.gz\n", kCleanPkgbuild);
    ASSERT_TRUE(evidence) << evidence.error().message;
    EXPECT_EQ(evidence->verdict, PatchVerdict::patchless) << ::testing::PrintToString(rules(*evidence));
    EXPECT_EQ(evidence->sources, (std::vector<std::string>{"https://example.invalid/demo-1.0.tar.gz"}));
    EXPECT_EQ(evidence->pkgbuild_sha256, sha256_hex(kCleanPkgbuild));
}

TEST(Patches, FindsPatchFilesInSources) {
    for (const std::string source :
         {"fix-build.patch", "0001-fix.diff", "fix.patch.xz", "local.patch::https://example.invalid/x",
          "https://github.com/o/r/commit/0123abc.patch?full_index=1", "https://gitlab.com/o/r/-/commit/0123abc.diff"}) {
        auto evidence = judge("\tsource = demo-1.0.tar.gz\n\tsource_x86_64 = " + source + "\n", kCleanPkgbuild);
        ASSERT_TRUE(evidence) << evidence.error().message;
        EXPECT_EQ(evidence->verdict, PatchVerdict::patched) << source;
        EXPECT_EQ(rules(*evidence), (std::vector<std::string>{".SRCINFO:6: patch file in sources"})) << source;
    }
}

TEST(Patches, FindsPatchCommandsInPrepareAndBuild) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"  patch -Np1 -i ../fix", "runs patch"},
        {"  cd src && patch -p1 < ../fix", "runs patch"},
        {"  /usr/bin/patch -p1 < ../fix", "runs patch"},
        {"  if \"patch\" -p1 < ../fix; then :; fi", "runs patch"},
        {"  git apply ../fix", "runs git apply"},
        {"  git -C src am ../series", "runs git am"},
        {"  git cherry-pick -n 0123abc", "runs git cherry-pick"},
        {"  sed -i 's/a/b/' configure", "runs sed -i"},
        {"  sed -e 's/a/b/' -i configure", "runs sed -i"},
        {"  sed -Ei 's/a/b/' configure", "runs sed -Ei"},
        {"  sed --in-place 's/a/b/' configure", "runs sed --in-place"},
        {"  sed \\\n    -i 's/a/b/' configure", "runs sed -i"},
        {"  perl -pi -e 's/a/b/' configure", "runs perl -pi"},
    };
    for (const auto& [line, rule] : cases) {
        const auto pkgbuild = "pkgname=demo\nprepare() {\n  cd src\n" + line + "\n}\n";
        auto evidence = judge("", pkgbuild);
        ASSERT_TRUE(evidence) << evidence.error().message;
        EXPECT_EQ(evidence->verdict, PatchVerdict::patched) << line;
        EXPECT_EQ(rules(*evidence), (std::vector<std::string>{"PKGBUILD:4: " + rule})) << line;
    }
    auto in_build = judge("", "pkgname=demo\nbuild()\n{\n  sed -i s/a/b/ Makefile\n  make\n}\n");
    ASSERT_TRUE(in_build);
    EXPECT_EQ(rules(*in_build), (std::vector<std::string>{"PKGBUILD:4: runs sed -i"}));
    // Not patches: a read-only sed, perl modules, a variable named patch, the words in strings.
    auto harmless = judge("",
                          "pkgname=demo\nprepare() {\n  sed -ne 's/i/j/p' x\n  perl -Mstrict -e 1\n"
                          "  patchlevel=3\n  echo \"no patch applied\"\n}\n");
    ASSERT_TRUE(harmless);
    EXPECT_EQ(harmless->verdict, PatchVerdict::patchless) << ::testing::PrintToString(rules(*harmless));
}

TEST(Patches, FindsPatchesWhereverTheRecipeRunsThem) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"pkgname=demo\nprepare() { patch -Np1 -i ../fix.txt; }\n", "PKGBUILD:2: runs patch"},
        {"pkgname=demo\nfunction prepare {\n  patch -p1 < x\n}\n", "PKGBUILD:3: runs patch"},
        {"pkgname=demo\nprepare() {\n  echo '}'\n}\n_fix() {\n  git am ../x\n}\n", "PKGBUILD:6: runs git am"},
        {"pkgname=demo\npkgver() {\n  cd src; sed -i s/a/b/ VERSION\n}\n", "PKGBUILD:3: runs sed -i"},
        {"pkgname=demo\nsource=(FIX.PATCH)\n", "PKGBUILD:2: names a patch file"},
        // A package function whose end is uncertain (a heredoc) is judged like the rest.
        {"pkgname=demo\npackage() {\n  cat <<EOF\n}\nEOF\n  sed -i s/a/b/ x\n}\n", "PKGBUILD:6: runs sed -i"},
    };
    for (const auto& [pkgbuild, rule] : cases) {
        auto evidence = judge("", pkgbuild);
        ASSERT_TRUE(evidence) << evidence.error().message;
        EXPECT_EQ(rules(*evidence), (std::vector<std::string>{rule})) << pkgbuild;
    }
    // In package functions, in-place edits touch the installed files, not upstream's sources.
    for (const std::string pkgbuild :
         {"pkgname=demo\npackage() {\n  sed -i s/a/b/ \"$pkgdir/x\"\n}\n",
          "pkgname=(a b)\npackage_a() { sed -i s/a/b/ \"$pkgdir/x\"; }\npackage_b() {\n  perl -pi -e s/a/b/ y\n}\n"}) {
        auto evidence = judge("", pkgbuild);
        ASSERT_TRUE(evidence);
        EXPECT_EQ(evidence->verdict, PatchVerdict::patchless) << ::testing::PrintToString(rules(*evidence));
    }
}

TEST(Patches, FindsPatchFilesNamedInThePkgbuild) {
    const auto pkgbuild = "pkgname=demo\nsource=(demo.tar.gz\n        fix-crash.patch)\n";
    auto evidence = judge("\tsource = demo.tar.gz\n", pkgbuild);
    ASSERT_TRUE(evidence);
    // A .SRCINFO that leaves the patch out does not hide it.
    EXPECT_EQ(rules(*evidence), (std::vector<std::string>{"PKGBUILD:3: names a patch file"}));
}

TEST(Patches, BindsThePkgbuildToTheBuild) {
    auto wrong = assess_patches(kSrcinfoHeader, kCleanPkgbuild, sha256_hex(kCleanPkgbuild + "\n"));
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::integrity);
    EXPECT_NE(wrong.error().message.find("is not the one the package was built from"), std::string::npos);
    auto malformed = assess_patches("pkgbase demo\n", kCleanPkgbuild, sha256_hex(kCleanPkgbuild));
    ASSERT_FALSE(malformed);
    EXPECT_EQ(malformed.error().code, ErrorCode::parse);
    auto no_base = assess_patches("pkgname = demo\n", kCleanPkgbuild, sha256_hex(kCleanPkgbuild));
    ASSERT_FALSE(no_base);
}

TEST(Patches, JudgesARealPackageWithMakepkgsOwnSrcinfo) {
    testing::TempDir dir;
    ::chmod(dir.path().c_str(), 0755);
    const std::string pkgbuild = R"(pkgname=demo-patched
pkgver=1.0
pkgrel=1
arch=('x86_64')
source=('fix-output.patch')
sha256sums=('SKIP')
prepare() {
  patch -Np1 -i "$srcdir/fix-output.patch" || true
}
package() {
  install -d "$pkgdir/usr/share/demo"
  echo patched > "$pkgdir/usr/share/demo/file"
}
)";
    dir.write("recipe/PKGBUILD", pkgbuild);
    dir.write("recipe/fix-output.patch", "--- a/x\n+++ b/x\n");
    const auto package_file = testing::run_makepkg(dir.path() / "recipe");
    const auto [status, srcinfo] = testing::makepkg_in(dir.path() / "recipe", {"--printsrcinfo"});
    ASSERT_EQ(status, 0) << srcinfo;
    auto package = archpkg::read_package_file(package_file.string());
    ASSERT_TRUE(package) << package.error().message;
    auto evidence = assess_patches(srcinfo, pkgbuild, package->build.pkgbuild_sha256);
    ASSERT_TRUE(evidence) << evidence.error().message;
    EXPECT_EQ(evidence->verdict, PatchVerdict::patched);
    EXPECT_EQ(rules(*evidence),
              (std::vector<std::string>{".SRCINFO:5: patch file in sources", "PKGBUILD:5: names a patch file",
                                        "PKGBUILD:8: names a patch file", "PKGBUILD:8: runs patch"}))
        << srcinfo;
}

}  // namespace
}  // namespace bulkhead::curate
