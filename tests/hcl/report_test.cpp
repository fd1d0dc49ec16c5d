#include "hcl/report.hpp"

#include <gtest/gtest.h>

namespace bulkhead::hcl {
namespace {

Check check(const std::string& id, Status status, bool required = true) {
    Check result;
    result.id = id;
    result.title = "Title of " + id;
    result.required = required;
    result.status = status;
    result.summary = "summary of " + id;
    result.evidence = {"evidence of " + id};
    result.remedy = "remedy of " + id;
    return result;
}

TEST(Report, AdvisoryFailureDoesNotDecide) {
    const Report report = make_report("/", {check("a", Status::pass), check("b", Status::fail, false)});
    EXPECT_EQ(report.verdict, Verdict::qualifies);
    EXPECT_TRUE(report.missing.empty());
}

TEST(Report, FailureBeatsUnknown) {
    const Report report = make_report("/", {check("a", Status::unknown), check("b", Status::fail)});
    EXPECT_EQ(report.verdict, Verdict::does_not_qualify);
    EXPECT_EQ(report.missing, std::vector<std::string>{"b"});
    EXPECT_EQ(report.undecided, std::vector<std::string>{"a"});
}

TEST(Report, JsonHasSchemaChecksAndVerdict) {
    const Report report = make_report("/x", {check("a", Status::pass), check("b", Status::fail)});
    const nlohmann::ordered_json json = report_to_json(report);
    EXPECT_EQ(json["schema"], "bulkhead.hcl/1");
    EXPECT_EQ(json["root"], "/x");
    EXPECT_EQ(json["verdict"], "does-not-qualify");
    ASSERT_EQ(json["checks"].size(), 2U);
    EXPECT_EQ(json["checks"][1]["id"], "b");
    EXPECT_EQ(json["checks"][1]["status"], "fail");
    EXPECT_EQ(json["checks"][1]["evidence"][0], "evidence of b");
    EXPECT_EQ(json["missing"], nlohmann::ordered_json::array({"b"}));
    EXPECT_EQ(json.begin().key(), "schema");  // the format comes first for readers
}

TEST(Report, TextNamesEachMissingRequirementAndItsFix) {
    const Report report = make_report("/", {check("a", Status::pass), check("b", Status::fail)});
    const std::string text = report_to_text(report);
    EXPECT_NE(text.find("PASS     Title of a: summary of a"), std::string::npos) << text;
    EXPECT_NE(text.find("FAIL     Title of b: summary of b"), std::string::npos) << text;
    EXPECT_NE(text.find("to fix: remedy of b"), std::string::npos);
    EXPECT_EQ(text.find("to fix: remedy of a"), std::string::npos);
    EXPECT_NE(text.find("does NOT qualify"), std::string::npos);
    EXPECT_NE(text.find("Missing: Title of b"), std::string::npos);
}

}  // namespace
}  // namespace bulkhead::hcl
