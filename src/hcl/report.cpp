#include "hcl/report.hpp"

#include <algorithm>

namespace bulkhead::hcl {

std::string_view verdict_name(Verdict verdict) noexcept {
    switch (verdict) {
        case Verdict::qualifies: return "qualifies";
        case Verdict::does_not_qualify: return "does-not-qualify";
        case Verdict::undetermined: return "undetermined";
    }
    return "undetermined";
}

Report make_report(std::string root, std::vector<Check> checks) {
    Report report;
    report.root = std::move(root);
    report.checks = std::move(checks);
    for (const Check& check : report.checks) {
        if (!check.required) continue;
        if (check.status == Status::fail) report.missing.push_back(check.id);
        if (check.status == Status::unknown) report.undecided.push_back(check.id);
    }
    if (!report.missing.empty()) {
        report.verdict = Verdict::does_not_qualify;
    } else if (!report.undecided.empty()) {
        report.verdict = Verdict::undetermined;
    } else {
        report.verdict = Verdict::qualifies;
    }
    return report;
}

nlohmann::ordered_json report_to_json(const Report& report) {
    nlohmann::ordered_json checks = nlohmann::ordered_json::array();
    for (const Check& check : report.checks) {
        checks.push_back({{"id", check.id},
                          {"title", check.title},
                          {"required", check.required},
                          {"status", status_name(check.status)},
                          {"summary", check.summary},
                          {"evidence", check.evidence},
                          {"remedy", check.remedy}});
    }
    return {{"schema", "bulkhead.hcl/1"},  {"root", report.root},
            {"checks", std::move(checks)}, {"verdict", verdict_name(report.verdict)},
            {"missing", report.missing},   {"undecided", report.undecided}};
}

namespace {

std::string status_label(Status status) {
    switch (status) {
        case Status::pass: return "PASS   ";
        case Status::fail: return "FAIL   ";
        case Status::unknown: return "UNKNOWN";
    }
    return "UNKNOWN";
}

const Check* find_check(const Report& report, const std::string& id) {
    const auto it =
        std::find_if(report.checks.begin(), report.checks.end(), [&id](const Check& check) { return check.id == id; });
    return it == report.checks.end() ? nullptr : &*it;
}

std::string titles_of(const Report& report, const std::vector<std::string>& ids) {
    std::string out;
    for (const std::string& id : ids) {
        if (!out.empty()) out += ", ";
        const Check* check = find_check(report, id);
        out += check != nullptr ? check->title : id;
    }
    return out;
}

}  // namespace

std::string report_to_text(const Report& report) {
    std::string out = "Bulkhead hardware check of " + report.root + "\n\n";
    for (const Check& check : report.checks) {
        out += "  " + status_label(check.status) + "  " + check.title;
        if (!check.required) out += " (advisory)";
        out += ": " + check.summary + "\n";
        for (const std::string& line : check.evidence) out += "             evidence: " + line + "\n";
        if (check.status != Status::pass && !check.remedy.empty()) {
            out += "             to fix: " + check.remedy + "\n";
        }
    }
    out += "\n";
    switch (report.verdict) {
        case Verdict::qualifies: out += "Verdict: this machine qualifies for Bulkhead.\n"; break;
        case Verdict::does_not_qualify:
            out += "Verdict: this machine does NOT qualify for Bulkhead.\n";
            out += "  Missing: " + titles_of(report, report.missing) + "\n";
            if (!report.undecided.empty()) {
                out += "  Could not be determined: " + titles_of(report, report.undecided) + "\n";
            }
            break;
        case Verdict::undetermined:
            out += "Verdict: undetermined: nothing failed, but some requirements could not be checked.\n";
            out += "  Could not be determined: " + titles_of(report, report.undecided) + "\n";
            break;
    }
    return out;
}

}  // namespace bulkhead::hcl
