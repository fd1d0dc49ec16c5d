#include "permissions/permission.hpp"

#include <gtest/gtest.h>

namespace bulkhead::permissions {
namespace {

TEST(Permission, CanonicalFormsRoundTrip) {
    for (const char* text : {"network", "network:example.org:443", "network:10.0.0.1:53", "network:[2001:db8::1]:8443",
                             "expose-port:8080:18080", "files:/home/alice/Documents:ro", "files:/srv/data:rw",
                             "usb:1d6b:0002", "clipboard", "display", "audio-out", "microphone", "camera"}) {
        auto parsed = parse_permission(text);
        ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
        EXPECT_EQ(format_permission(*parsed), text);
        auto again = parse_permission(format_permission(*parsed));
        ASSERT_TRUE(again);
        EXPECT_EQ(*again, *parsed);
    }
}

// Found by the fuzz target: a path so long that its canonical form (with ":ro") no longer fit.
TEST(Permission, EveryAcceptedPathFitsItsCanonicalForm) {
    const std::string path = "/" + std::string(4089, 'a');
    EXPECT_FALSE(parse_permission("files:" + path));  // 4096 bytes, but ":ro" would make it 4099
    const std::string fits = "/" + std::string(3999, 'a');
    auto parsed = parse_permission("files:" + fits);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parse_permission(format_permission(*parsed)));
}

TEST(Permission, FieldsAreRead) {
    auto files = parse_permission("files:/home/alice/Documents");
    ASSERT_TRUE(files);
    EXPECT_EQ(files->kind, Kind::files);
    EXPECT_EQ(files->path, "/home/alice/Documents");
    EXPECT_FALSE(files->writable);  // read-only unless :rw
    EXPECT_EQ(format_permission(*files), "files:/home/alice/Documents:ro");
    auto exposed = parse_permission("expose-port:80:8080");
    ASSERT_TRUE(exposed);
    EXPECT_EQ(exposed->port, 80);
    EXPECT_EQ(exposed->host_port, 8080);
    auto usb = parse_permission("usb:abcd:00ff");
    ASSERT_TRUE(usb);
    EXPECT_EQ(usb->vendor, 0xabcd);
    EXPECT_EQ(usb->product, 0x00ff);
    EXPECT_TRUE(enforceable(Kind::network));
    EXPECT_TRUE(enforceable(Kind::files));
    EXPECT_TRUE(enforceable(Kind::expose_port));
    EXPECT_FALSE(enforceable(Kind::camera));
}

TEST(Permission, AnythingElseIsRefusedWithAReason) {
    struct Case {
        const char* text;
        const char* message;
    };
    for (const Case& c : {Case{"", "1 to 4096"},
                          Case{"root", "is not a permission"},
                          Case{"Network", "is not a permission"},
                          Case{"network:", "network:HOST:PORT"},
                          Case{"network:example.org", "network:HOST:PORT"},
                          Case{"network:Example.org:443", "lower-case DNS name"},
                          Case{"network:exa_mple.org:443", "lower-case DNS name"},
                          Case{"network:example.org:0", "between 1 and 65535"},
                          Case{"network:example.org:65536", "between 1 and 65535"},
                          Case{"network:example.org:0443", "port number"},
                          Case{"network:[2001:db8::g]:1", "lower-case DNS name"},
                          Case{"expose-port:8080", "GUEST_PORT:HOST_PORT"},
                          Case{"expose-port:8080:80", "between 1024 and 65535"},
                          Case{"files", "files:/PATH"},
                          Case{"files:relative/path", "must be absolute"},
                          Case{"files:/home/../etc", "must be absolute"},
                          Case{"files:/home//x", "must be absolute"},
                          Case{"files:/home/x/", "must be absolute"},
                          Case{"files:/a:b:ro", "must be absolute"},
                          Case{"files:/home/x:rx", "must be absolute"},
                          Case{"files:/home/\x01x", "must be absolute"},
                          Case{"files:/home/\xffx", "must be absolute"},
                          Case{"usb:1d6b", "usb:VENDOR:PRODUCT"},
                          Case{"usb:1D6B:0002", "lower-case hex"},
                          Case{"usb:1d6b:002", "four hex digits"},
                          Case{"camera:front", "takes no arguments"}}) {
        auto refused = parse_permission(c.text);
        ASSERT_FALSE(refused) << c.text;
        EXPECT_NE(refused.error().message.find(c.message), std::string::npos)
            << c.text << ": " << refused.error().message;
    }
}

}  // namespace
}  // namespace bulkhead::permissions
