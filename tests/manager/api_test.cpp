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

TEST(ApiRequest, DesktopUsersMayNotInstallOrRemove) {
    EXPECT_FALSE(allowed_for_desktop_users(Op::add));
    EXPECT_FALSE(allowed_for_desktop_users(Op::remove));
    for (const Op op : {Op::list, Op::start, Op::stop, Op::status, Op::logs})
        EXPECT_TRUE(allowed_for_desktop_users(op));
}

}  // namespace
}  // namespace bulkhead::manager
