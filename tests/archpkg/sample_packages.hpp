// The packages the archpkg tests share, built once per test program with makepkg: an app that
// depends on a library, with every kind of entry a package holds (files, an empty file, a
// symlink, a hard link, directories, names with spaces and non-ASCII letters, an install script).
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "archpkg/makepkg_fixture.hpp"

namespace bulkhead::testing {

inline const std::string kAppPkgbuild = R"(pkgname=demo-app
pkgver=2.1.0
pkgrel=3
epoch=1
pkgdesc="A demo app for Bulkhead's tests"
arch=('x86_64')
url="https://example.invalid/demo"
license=('MIT' 'Apache-2.0')
groups=('demo-group')
depends=('demo-lib>=1.0' 'sh')
optdepends=('demo-extra: more demos')
provides=('demo=2.1.0')
conflicts=('old-demo<2')
replaces=('old-demo')
backup=('etc/demo.conf')
install=demo.install
package() {
  install -d "$pkgdir/usr/bin" "$pkgdir/usr/share/demo/empty-dir" "$pkgdir/etc"
  printf '#!/bin/sh\necho demo\n' > "$pkgdir/usr/bin/demo"
  chmod 755 "$pkgdir/usr/bin/demo"
  ln "$pkgdir/usr/bin/demo" "$pkgdir/usr/bin/demo-hardlink"
  ln -s demo "$pkgdir/usr/bin/demo-symlink"
  printf 'greeting = hello\n' > "$pkgdir/etc/demo.conf"
  printf 'a file with spaces\n' > "$pkgdir/usr/share/demo/name with spaces.txt"
  printf 'unicode\n' > "$pkgdir/usr/share/demo/"$'gr\303\274n.txt'
  printf 'backslash\n' > "$pkgdir/usr/share/demo/back\\slash"
  : > "$pkgdir/usr/share/demo/empty"
  head -c 300000 /dev/zero | tr '\0' 'x' > "$pkgdir/usr/share/demo/large.txt"
}
)";

inline const std::string kAppInstallScript = "post_install() {\n  echo installed\n}\n";

inline const std::string kLibPkgbuild = R"(pkgname=demo-lib
pkgver=1.4
pkgrel=1
pkgdesc="A demo library"
arch=('x86_64')
url="https://example.invalid/lib"
license=('MIT')
provides=('libdemo.so=1-64')
package() {
  install -d "$pkgdir/usr/lib"
  printf 'not really a library\n' > "$pkgdir/usr/lib/libdemo.so.1"
  ln -s libdemo.so.1 "$pkgdir/usr/lib/libdemo.so"
}
)";

// A provider of `sh`, for closures that must choose a provider.
inline const std::string kShellPkgbuild = R"(pkgname=demo-shell
pkgver=5.2
pkgrel=1
arch=('x86_64')
provides=('sh')
package() {
  install -d "$pkgdir/usr/bin"
  printf '#!/bin/false\n' > "$pkgdir/usr/bin/demo-shell"
}
)";

struct SamplePackages {
    TempDir dir;
    std::filesystem::path app;
    std::filesystem::path lib;

    SamplePackages() {
        ::chmod(dir.path().c_str(), 0755);
        dir.write("app/PKGBUILD", kAppPkgbuild);
        dir.write("app/demo.install", kAppInstallScript);
        dir.write("lib/PKGBUILD", kLibPkgbuild);
        app = run_makepkg(dir.path() / "app");
        lib = run_makepkg(dir.path() / "lib");
    }
};

}  // namespace bulkhead::testing
