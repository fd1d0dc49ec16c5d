// The vocabulary of a hardware check: one result per requirement, with its evidence.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bulkhead::hcl {

enum class Status { pass, fail, unknown };

std::string_view status_name(Status status) noexcept;

struct Check {
    std::string id;        // stable, e.g. "cpu.virtualization"; used by --json consumers
    std::string title;     // short human name
    bool required = true;  // advisory checks are reported but do not decide the verdict
    Status status = Status::unknown;
    std::string summary;                // one line: what was found
    std::vector<std::string> evidence;  // the files and values the summary rests on
    std::string remedy;                 // what the user can do, when status is not pass
};

}  // namespace bulkhead::hcl
