#include "apps/definition.hpp"

#include <gtest/gtest.h>

#include "apps/registry.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::apps {
namespace {

const std::string kFixture = std::string(BULKHEAD_FIXTURES_DIR) + "/apps/hello.toml";

TEST(AppDefinition, TheSampleAppParses) {
    auto app = parse_app_definition(bulkhead::testing::read_whole_file(kFixture), "hello.toml");
    ASSERT_TRUE(app) << app.error().message;
    EXPECT_EQ(app->name, "hello");
    EXPECT_EQ(app->version, "1.0");
    EXPECT_EQ(app->image, "hello.erofs");
    EXPECT_EQ(app->command, "/bin/busybox");
    EXPECT_EQ(app->args, (std::vector<std::string>{"httpd", "-f", "-p", "8080"}));
    ASSERT_EQ(app->env.size(), 1U);
    EXPECT_EQ(app->env[0].first, "GREETING");
    EXPECT_EQ(app->restart, RestartPolicy::never);
    EXPECT_EQ(app->memory_mib, 256U);
    EXPECT_EQ(app->state_disk_mib, 16U);
    EXPECT_EQ(app->requested, std::set<permissions::Kind>{permissions::Kind::network});
}

TEST(AppDefinition, DefaultsApplyWhenSectionsAreLeftOut) {
    auto app = parse_app_definition("name = \"a1\"\nversion = \"1\"\nimage = \"x\"\n[run]\ncommand = \"/x\"\n", "t");
    ASSERT_TRUE(app) << app.error().message;
    EXPECT_EQ(app->memory_mib, 256U);
    EXPECT_EQ(app->vcpus, 1U);
    EXPECT_TRUE(app->requested.empty());
    EXPECT_TRUE(app->args.empty());
}

TEST(AppDefinition, MistakesAreNamedWithTheirLine) {
    const std::string head = "name = \"a\"\nversion = \"1\"\nimage = \"x\"\n";
    struct Case {
        std::string text;
        std::string message;
    };
    const std::vector<Case> cases = {
        {head + "[run]\ncommand = \"/x\"\ncolour = 1\n", "t:6:1: run.colour: unknown key"},
        {head + "[run]\ncommand = \"x\"\n", "run.command: must be an absolute path"},
        {head + "[run]\ncommand = \"/x\"\n[resources]\nmemory_mib = 8\n", "memory_mib: must be between 64 and 16384"},
        {head + "[run]\ncommand = \"/x\"\n[resources]\nvcpus = \"two\"\n", "vcpus: must be a whole number"},
        {head + "[run]\ncommand = \"/x\"\nrestart = \"sometimes\"\n", "must be never, on-failure or always"},
        {head + "[run]\ncommand = \"/x\"\nenv = { \"1X\" = \"y\" }\n", "run.env.1X: is not a variable name"},
        {head + "[run]\ncommand = \"/x\"\n[permissions]\nrequest = [\"root\"]\n", "'root' is not one of"},
        {head + "[run]\ncommand = \"/x\"\n[permissions]\nrequest = [\"usb\", \"usb\"]\n", "'usb' is listed twice"},
        {head, "run: is required"},
        {"version = \"1\"\nimage = \"x\"\n[run]\ncommand = \"/x\"\n", "name: is required"},
        {"name = \"Big\"\nversion = \"1\"\nimage = \"x\"\n[run]\ncommand = \"/x\"\n",
         "must start with a lower-case letter"},
        {"name = \"a-\"\nversion = \"1\"\nimage = \"x\"\n[run]\ncommand = \"/x\"\n", "end with a letter or digit"},
        {"name = \"a\"\nname = \"b\"\n", "t:2:"},
        {"name = ", "t:1:"},
    };
    for (const Case& c : cases) {
        auto app = parse_app_definition(c.text, "t");
        ASSERT_FALSE(app) << c.text;
        EXPECT_NE(app.error().message.find(c.message), std::string::npos) << c.text << "\n" << app.error().message;
    }
    EXPECT_EQ(parse_app_definition(std::string(kMaxDefinitionBytes + 1, '#'), "t").error().code, ErrorCode::too_large);
}

TEST(AppDefinition, AppNames) {
    for (const std::string good : {"a", "hello", "web-2", "x9"}) EXPECT_TRUE(check_app_name(good)) << good;
    for (const std::string bad : {"", "-a", "a-", "A", "a_b", "a.b", "abcdefghijklmnopqrstuvwxy", "9a"}) {
        EXPECT_FALSE(check_app_name(bad)) << bad;
    }
}

}  // namespace
}  // namespace bulkhead::apps

namespace bulkhead::apps {
namespace {

TEST(Registry, UidsComeFromTheReservedRangeAndSkipTakenOnes) {
    const bulkhead::testing::TempDir dir;
    auto registry = Registry::load(dir.str());
    ASSERT_TRUE(registry);
    auto first = registry->allocate_uid([](uid_t) { return false; });
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, kFirstAppUid);
    registry->put({"a", kFirstAppUid, "1", InstallState::installed});
    registry->put({"b", kFirstAppUid + 1, "1", InstallState::removed});  // data kept: uid still taken
    auto next = registry->allocate_uid([](uid_t uid) { return uid == kFirstAppUid + 2; });  // a host account
    ASSERT_TRUE(next);
    EXPECT_EQ(*next, kFirstAppUid + 3);
    EXPECT_FALSE(registry->allocate_uid([](uid_t) { return true; }));
    ASSERT_TRUE(registry->save());
    auto loaded = Registry::load(dir.str());
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->records().size(), 2U);
    EXPECT_EQ(loaded->find("b")->state, InstallState::removed);
    dir.write(
        "registry.json",
        R"({"format": "bulkhead-apps/1", "apps": [{"name": "x", "uid": 5, "version": "1", "state": "installed"}]})");
    EXPECT_FALSE(Registry::load(dir.str()));  // a uid outside the range
}

}  // namespace
}  // namespace bulkhead::apps
