#include <gtest/gtest.h>

#include "fetch/fetcher.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::fetch {
namespace {

using bulkhead::testing::TempDir;

TEST(FileFetcher, ReadsFilesAndReportsMissingOnesAsNotFound) {
    const TempDir dir;
    dir.write("metadata/1.root.json", "root bytes");
    dir.write("metadata/1.a%2Fb.json", "delegated");  // role "a/b", stored under its encoded name
    dir.write("with space/x", "spaced");
    const auto fetcher = make_file_fetcher();
    EXPECT_EQ(*fetcher->fetch_bytes("file://" + dir.str() + "/metadata/1.root.json", 100), "root bytes");
    EXPECT_EQ(*fetcher->fetch_bytes("file://" + dir.str() + "/metadata/1.a%2Fb.json", 100), "delegated");
    EXPECT_EQ(*fetcher->fetch_bytes("file://" + dir.str() + "/with%20space/x", 100), "spaced");
    auto missing = fetcher->fetch_bytes("file://" + dir.str() + "/metadata/2.root.json", 100);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(FileFetcher, EnforcesTheSizeCapBeforeDelivering) {
    const TempDir dir;
    dir.write("big", std::string(70000, 'x'));
    std::size_t delivered = 0;
    auto fetched = make_file_fetcher()->fetch("file://" + dir.str() + "/big", 1000, [&](std::string_view chunk) {
        delivered += chunk.size();
        return Result<void>();
    });
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error().code, ErrorCode::too_large);
    EXPECT_EQ(delivered, 0U);
}

TEST(FileFetcher, RefusesEscapesAndOddUrls) {
    const TempDir dir;
    const auto fetcher = make_file_fetcher();
    for (const std::string& url : {"file://" + dir.str() + "/../etc/passwd", "file://" + dir.str() + "/%2E%2E/x",
                                   std::string("file://relative/path"), "file://" + dir.str() + "/x?y",
                                   "file://" + dir.str() + "/a%00b", "file://" + dir.str() + "/%zz"}) {
        auto fetched = fetcher->fetch_bytes(url, 100);
        ASSERT_FALSE(fetched) << url;
        EXPECT_EQ(fetched.error().code, ErrorCode::invalid_argument) << url << ": " << fetched.error().message;
    }
}

TEST(SchemeFetcher, RefusesUnknownSchemes) {
    auto fetched = make_fetcher()->fetch_bytes("ftp://example.invalid/x", 10);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error().code, ErrorCode::unsupported);
}

}  // namespace
}  // namespace bulkhead::fetch
