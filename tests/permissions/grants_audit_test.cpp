#include <sys/stat.h>

#include <gtest/gtest.h>

#include "permissions/audit.hpp"
#include "permissions/grants.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::permissions {
namespace {

Permission permission(const char* text) {
    auto parsed = parse_permission(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? *parsed : Permission{};
}

TEST(Grants, NothingIsGrantedUntilGrantedAndChangesAreKept) {
    const testing::TempDir dir;
    auto fresh = Grants::load(dir.path().string(), "hello");
    ASSERT_TRUE(fresh) << fresh.error().message;
    EXPECT_TRUE(fresh->granted().empty());
    ASSERT_TRUE(fresh->grant(permission("network:example.org:443")));
    ASSERT_TRUE(fresh->grant(permission("files:/srv/data")));
    auto again = fresh->grant(permission("files:/srv/data:ro"));  // the same grant, written differently
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("has files:/srv/data:ro already"), std::string::npos);
    struct stat info {};
    ASSERT_EQ(::stat((dir.path() / "hello.json").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777U, 0600U);

    auto reloaded = Grants::load(dir.path().string(), "hello");
    ASSERT_TRUE(reloaded) << reloaded.error().message;
    ASSERT_EQ(reloaded->granted().size(), 2U);
    EXPECT_EQ(format_permission(reloaded->granted()[0]), "files:/srv/data:ro");
    EXPECT_TRUE(reloaded->holds(permission("network:example.org:443")));
    const std::string before = testing::read_whole_file(dir.path() / "hello.json");
    auto missing = reloaded->revoke(permission("camera"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
    EXPECT_EQ(testing::read_whole_file(dir.path() / "hello.json"), before);  // a refusal changes nothing
    ASSERT_TRUE(reloaded->revoke(permission("network:example.org:443")));
    auto after = Grants::load(dir.path().string(), "hello");
    ASSERT_TRUE(after);
    EXPECT_EQ(after->granted().size(), 1U);
}

TEST(Grants, ADamagedFileIsAnErrorNotAnEmptyList) {
    const testing::TempDir dir;
    for (const char* text :
         {"", "{}", "{\"format\":\"bulkhead-grants/1\",\"app\":\"other\",\"granted\":[]}",
          "{\"format\":\"bulkhead-grants/1\",\"app\":\"hello\",\"granted\":[\"root\"]}",
          "{\"format\":\"bulkhead-grants/1\",\"app\":\"hello\",\"granted\":[\"files:/a\"]}",  // not canonical
          "{\"format\":\"bulkhead-grants/1\",\"app\":\"hello\",\"granted\":[\"camera\",\"camera\"]}",
          "{\"format\":\"bulkhead-grants/1\",\"app\":\"hello\",\"granted\":[],\"extra\":1}"}) {
        dir.write("hello.json", text);
        auto damaged = Grants::load(dir.path().string(), "hello");
        ASSERT_FALSE(damaged) << text;
        EXPECT_NE(damaged.error().message.find("are damaged"), std::string::npos) << damaged.error().message;
    }
}

TEST(Audit, EntriesAreAppendedPrivatelyAndReadBackFiltered) {
    const testing::TempDir dir;
    const std::string log = (dir.path() / "audit.log").string();
    ASSERT_TRUE(append_audit(log, {"2026-11-27T10:00:00Z", "hello", 1000, "grant", "allowed", {"network"}, ""}));
    ASSERT_TRUE(append_audit(
        log, {"2026-11-27T11:00:00Z", "other", 1000, "denied", "refused", {"camera"}, "camera is not available yet"}));
    ASSERT_TRUE(append_audit(log, {"", "hello", 0, "start", "allowed", {"network", "files:/srv:ro"}, ""}));
    struct stat info {};
    ASSERT_EQ(::stat(log.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777U, 0600U);
    auto all = read_audit(log);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 3U);
    EXPECT_EQ((*all)[1].reason, "camera is not available yet");
    EXPECT_EQ((*all)[2].time.size(), 20U);  // set to now, RFC 3339
    EXPECT_EQ((*all)[2].permissions, (std::vector<std::string>{"network", "files:/srv:ro"}));
    auto hello = read_audit(log, {.app = "hello", .action = std::nullopt, .since = std::nullopt});
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->size(), 2U);
    auto late = read_audit(log, {.app = std::nullopt, .action = std::nullopt, .since = "2026-11-27T10:30:00Z"});
    ASSERT_TRUE(late);
    EXPECT_EQ(late->size(), 2U);

    ASSERT_EQ(::chmod(log.c_str(), 0644), 0);
    EXPECT_FALSE(append_audit(log, {"", "hello", 0, "start", "allowed", {}, ""}));  // readable by others: refused
    ASSERT_EQ(::chmod(log.c_str(), 0600), 0);
    dir.write("audit.log", testing::read_whole_file(log) + "not json\n");
    auto damaged = read_audit(log);
    ASSERT_FALSE(damaged);
    EXPECT_NE(damaged.error().message.find("audit.log:4:"), std::string::npos) << damaged.error().message;
}

}  // namespace
}  // namespace bulkhead::permissions
