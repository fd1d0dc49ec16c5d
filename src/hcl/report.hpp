// Turns the individual checks into a verdict, and renders the report for people and programs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hcl/check.hpp"

namespace bulkhead::hcl {

enum class Verdict {
    qualifies,         // every required check passed
    does_not_qualify,  // at least one required check failed
    undetermined,      // nothing failed, but some required check could not be decided
};

std::string_view verdict_name(Verdict verdict) noexcept;

struct Report {
    std::string root;  // the tree that was examined ("/" for the machine itself)
    std::vector<Check> checks;
    Verdict verdict = Verdict::undetermined;
    std::vector<std::string> missing;    // ids of required checks that failed
    std::vector<std::string> undecided;  // ids of required checks that are unknown
};

Report make_report(std::string root, std::vector<Check> checks);

// Schema "bulkhead.hcl/1": documented in docs/CLI.md.
nlohmann::ordered_json report_to_json(const Report& report);
std::string report_to_text(const Report& report);

}  // namespace bulkhead::hcl
