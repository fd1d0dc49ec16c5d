// The permission side of bulkheadd without VMs: what is refused and why, what is audited, and
// that a change which cannot be audited is undone.
#include "manager/permission_requests.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "permissions/grants.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::manager {
namespace {

namespace fs = std::filesystem;

apps::AppDefinition definition_requesting(const std::string& kinds) {
    auto definition = apps::parse_app_definition(
        "name = \"hello\"\nversion = \"1\"\nimage = \"hello\"\n[run]\n"
        "command = \"/bin/hello\"\n[permissions]\nrequest = [" +
            kinds + "]\n",
        "hello.toml");
    EXPECT_TRUE(definition) << definition.error().message;
    return *definition;
}

class PermissionRequests : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(dir.path() / "state/grants");
        store = PermissionStore::under((dir.path() / "state").string(), {(dir.path() / "run").string()});
    }

    std::vector<std::string> audit_lines() {
        auto entries = permissions::read_audit(store.audit_log);
        EXPECT_TRUE(entries) << entries.error().message;
        std::vector<std::string> out;
        for (const auto& entry : *entries) {
            std::string line = entry.action + " " + entry.decision;
            for (const auto& permission : entry.permissions) line += " " + permission;
            out.push_back(line);
        }
        return out;
    }

    std::vector<std::string> granted() {
        auto held = permissions_for_start(store, "hello");
        EXPECT_TRUE(held) << held.error().message;
        std::vector<std::string> out;
        for (const auto& permission : *held) out.push_back(permissions::format_permission(permission));
        return out;
    }

    const testing::TempDir dir;
    PermissionStore store;
    const apps::AppDefinition definition = definition_requesting("\"network\", \"files\"");
};

TEST_F(PermissionRequests, RefusalsChangeNothingAndAreAudited) {
    struct Case {
        std::string text;
        bool force;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"teleport", false, "'teleport' is not a permission"},
        {"camera", true, "not available yet"},
        {"usb:1d6b:0002", true, "not available yet"},
        {"expose-port:80:8080", false, "does not request 'expose-port'"},
        {"network:[2001:db8::1]:443", false, "IPv4 only"},
        {"files:/etc", false, "never shared"},
        {"files:" + (dir.path() / "state").string(), false, "never shared"},
        {"files:" + (dir.path() / "missing").string(), false, "No such file"},
    };
    for (const Case& c : cases) {
        auto result = grant_permission(store, definition, {"hello", c.text, c.force, 0});
        ASSERT_FALSE(result) << c.text;
        EXPECT_NE(result.error().message.find(c.message), std::string::npos)
            << c.text << ": " << result.error().message;
    }
    EXPECT_TRUE(granted().empty());
    EXPECT_EQ(audit_lines().size(), cases.size());
    for (const std::string& line : audit_lines()) EXPECT_TRUE(line.starts_with("grant refused")) << line;
    EXPECT_FALSE(revoke_permission(store, {"hello", "network", false, 0}));  // not granted
}

TEST_F(PermissionRequests, GrantRevokeForceAndTheSixteenShareLimit) {
    ASSERT_TRUE(grant_permission(store, definition, {"hello", "network", false, 0}));
    ASSERT_TRUE(grant_permission(store, definition, {"hello", "expose-port:80:8080", true, 0}));  // forced
    for (int i = 0; i < 16; ++i) {
        const fs::path share = dir.path() / ("share" + std::to_string(i));
        fs::create_directories(share);
        ASSERT_TRUE(grant_permission(store, definition, {"hello", "files:" + share.string(), false, 0})) << i;
    }
    fs::create_directories(dir.path() / "share16");
    auto seventeenth =
        grant_permission(store, definition, {"hello", "files:" + (dir.path() / "share16").string(), false, 0});
    ASSERT_FALSE(seventeenth);
    EXPECT_NE(seventeenth.error().message.find("at most 16"), std::string::npos);
    ASSERT_TRUE(revoke_permission(store, {"hello", "network", false, 0}));
    EXPECT_EQ(granted().size(), 17U);
    auto described = describe_permissions(store, definition);
    ASSERT_TRUE(described);
}

TEST_F(PermissionRequests, AChangeThatCannotBeAuditedIsUndone) {
    fs::create_directories(store.audit_log);  // a directory where the log should be: appends fail
    auto result = grant_permission(store, definition, {"hello", "network", false, 0});
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("undone"), std::string::npos) << result.error().message;
    EXPECT_TRUE(granted().empty());
}

TEST_F(PermissionRequests, ADamagedGrantsFileRefusesTheStart) {
    std::ofstream(dir.path() / "state/grants/hello.json") << "{\"format\": \"bulkhead-grants/1\", \"app\": \"hello\", "
                                                             "\"granted\": [\"network\", \"teleport\"]}";
    auto held = permissions_for_start(store, "hello");
    ASSERT_FALSE(held);
    EXPECT_NE(held.error().message.find("damaged"), std::string::npos) << held.error().message;
}

TEST_F(PermissionRequests, RemovingAnAppForgetsItsGrants) {
    ASSERT_TRUE(grant_permission(store, definition, {"hello", "network", false, 0}));
    ASSERT_TRUE(forget_grants(store, "hello", 0));
    EXPECT_TRUE(granted().empty());
    EXPECT_FALSE(fs::exists(dir.path() / "state/grants/hello.json"));
    EXPECT_EQ(audit_lines(), (std::vector<std::string>{"grant allowed network", "revoke allowed network"}));
    EXPECT_TRUE(forget_grants(store, "hello", 0));  // nothing left: nothing to do, nothing audited
    EXPECT_EQ(audit_lines().size(), 2U);
}

}  // namespace
}  // namespace bulkhead::manager
