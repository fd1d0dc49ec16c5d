#include "manager/api.hpp"

#include <gtest/gtest.h>

namespace bulkhead::manager {
namespace {

TEST(ApiRequest, EveryOpParses) {
    auto start = parse_request(R"({"api": "bulkhead.api/1", "op": "start", "name": "hello"})");
    ASSERT_TRUE(start) << start.error().message;
    EXPECT_EQ(start->op, Op::start);
    EXPECT_EQ(start->name, "hello");
    auto add = parse_request(R"({"api": "bulkhead.api/1", "op": "add", "definition": "/srv/hello.toml"})");
    ASSERT_TRUE(add);
    EXPECT_EQ(add->definition, "/srv/hello.toml");
    EXPECT_FALSE(add->replace);
    auto replace =
        parse_request(R"({"api": "bulkhead.api/1", "op": "add", "definition": "/srv/hello.toml", "replace": true})");
    ASSERT_TRUE(replace);
    EXPECT_TRUE(replace->replace);
    auto remove = parse_request(R"({"api": "bulkhead.api/1", "op": "remove", "name": "a", "purge": true})");
    ASSERT_TRUE(remove);
    EXPECT_TRUE(remove->purge);
    EXPECT_TRUE(parse_request(R"({"api": "bulkhead.api/1", "op": "list"})"));
    for (const Op op : {Op::stop, Op::status, Op::logs}) {
        EXPECT_TRUE(
            parse_request(R"({"api": "bulkhead.api/1", "op": ")" + std::string(op_name(op)) + R"(", "name": "a"})"));
    }
}

TEST(ApiRequest, MalformedRequestsAreRefusedWithAReason) {
    struct Case {
        std::string line;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"not json", "one JSON object per line"},
        {R"([1])", "one JSON object per line"},
        {R"({"op": "list"})", R"(must say "api")"},
        {R"({"api": "bulkhead.api/2", "op": "list"})", R"(must say "api")"},
        {R"({"api": "bulkhead.api/1"})", R"(no "op")"},
        {R"({"api": "bulkhead.api/1", "op": "format"})", "unknown op 'format'"},
        {R"({"api": "bulkhead.api/1", "op": "start"})", "must be an app name"},
        {R"({"api": "bulkhead.api/1", "op": "start", "name": "../etc"})", "must be an app name"},
        {R"({"api": "bulkhead.api/1", "op": "add", "definition": "hello.toml"})", "must be an absolute path"},
        {R"({"api": "bulkhead.api/1", "op": "remove", "name": "a", "purge": "yes"})", "must be true or false"},
        {R"({"api": "bulkhead.api/1", "op": "add", "definition": "/a.toml", "replace": 1})", "must be true or false"},
        {R"({"api": "bulkhead.api/1", "op": "remove", "name": "a", "replace": true})",
         R"("replace" does not belong in a remove request)"},
        {R"({"api": "bulkhead.api/1", "op": "list", "name": "a"})", R"("name" does not belong in a list request)"},
        {R"({"api": "bulkhead.api/1", "op": "start", "name": "a", "uid": 0})", R"("uid" does not belong)"},
    };
    for (const Case& c : cases) {
        auto request = parse_request(c.line);
        ASSERT_FALSE(request) << c.line;
        EXPECT_NE(request.error().message.find(c.message), std::string::npos)
            << c.line << ": " << request.error().message;
    }
}

TEST(ApiRequest, DesktopUsersMayNotInstallRemoveOrGrant) {
    EXPECT_FALSE(allowed_for_desktop_users(Op::add));
    EXPECT_FALSE(allowed_for_desktop_users(Op::remove));
    EXPECT_FALSE(allowed_for_desktop_users(Op::grant));
    for (const Op op : {Op::list, Op::start, Op::stop, Op::status, Op::logs, Op::permissions, Op::revoke, Op::audit})
        EXPECT_TRUE(allowed_for_desktop_users(op));
}

TEST(ApiRequest, PermissionRequestsParse) {
    auto grant = parse_request(
        R"({"api": "bulkhead.api/1", "op": "grant", "name": "a", "permission": "network:192.0.2.1:80", "force": true})");
    ASSERT_TRUE(grant) << grant.error().message;
    EXPECT_EQ(grant->op, Op::grant);
    EXPECT_EQ(grant->permission, "network:192.0.2.1:80");
    EXPECT_TRUE(grant->force);
    auto revoke = parse_request(R"({"api": "bulkhead.api/1", "op": "revoke", "name": "a", "permission": "network"})");
    ASSERT_TRUE(revoke);
    EXPECT_FALSE(revoke->force);
    EXPECT_TRUE(parse_request(R"({"api": "bulkhead.api/1", "op": "permissions", "name": "a"})"));
    auto audit = parse_request(
        R"({"api": "bulkhead.api/1", "op": "audit", "app": "a", "action": "grant", "since": "2026-11-27T00:00:00Z"})");
    ASSERT_TRUE(audit);
    EXPECT_EQ(audit->app, "a");
    EXPECT_EQ(audit->action, "grant");
    EXPECT_EQ(audit->since, "2026-11-27T00:00:00Z");
    auto everything = parse_request(R"({"api": "bulkhead.api/1", "op": "audit"})");
    ASSERT_TRUE(everything);
    EXPECT_FALSE(everything->app);
}

TEST(ApiRequest, MalformedPermissionRequestsAreRefused) {
    struct Case {
        std::string line;
        std::string message;
    };
    const std::vector<Case> cases = {
        {R"({"api": "bulkhead.api/1", "op": "grant", "name": "a"})", R"(no "permission")"},
        {R"({"api": "bulkhead.api/1", "op": "grant", "name": "a", "permission": ""})", "1 to"},
        {R"({"api": "bulkhead.api/1", "op": "grant", "name": "a", "permission": 1})", "must be a string"},
        {R"({"api": "bulkhead.api/1", "op": "grant", "name": "a", "permission": "x", "force": 1})", "true or false"},
        {R"({"api": "bulkhead.api/1", "op": "revoke", "name": "a", "permission": "x", "force": true})",
         R"("force" does not belong)"},
        {R"({"api": "bulkhead.api/1", "op": "start", "name": "a", "permission": "x"})", R"("permission" does not)"},
        {R"({"api": "bulkhead.api/1", "op": "audit", "name": "a"})", R"("name" does not belong)"},
        {R"({"api": "bulkhead.api/1", "op": "audit", "app": "../x"})", "must be an app name"},
        {R"({"api": "bulkhead.api/1", "op": "audit", "since": ""})", "1 to 32 bytes"},
        {R"({"api": "bulkhead.api/1", "op": "permissions"})", "must be an app name"},
    };
    for (const Case& c : cases) {
        auto request = parse_request(c.line);
        ASSERT_FALSE(request) << c.line;
        EXPECT_NE(request.error().message.find(c.message), std::string::npos)
            << c.line << ": " << request.error().message;
    }
}

}  // namespace
}  // namespace bulkhead::manager
