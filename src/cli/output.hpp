// Conventions shared by every `bulkhead` command: exit codes, JSON and error output.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace bulkhead::cli {

// Documented in docs/CLI.md; scripts depend on these values.
enum ExitCode : int {
    kExitOk = 0,       // the command did what was asked / the check passed
    kExitRefused = 1,  // a check failed or the operation was refused or failed
    kExitUsage = 2,    // the command line was wrong
};

// Writes text to stdout; false if it could not be written completely (a closed pipe, a full disk).
[[nodiscard]] bool print_text(std::string_view text);

// Writes one JSON document and a newline to stdout. Invalid UTF-8 from the examined system
// is replaced, never allowed to abort the output.
[[nodiscard]] bool print_json(const nlohmann::ordered_json& document);

// Reports an error: as {"error": {"code", "message"}} on stdout with --json, otherwise as
// "bulkhead: message" on stderr. Returns kExitRefused for the caller to return.
int report_error(const Error& error, bool json);

// Writes a warning as "bulkhead: warning: message" on stderr, with or without --json (whose
// stdout it leaves alone): something went wrong that does not stop the command.
void report_warning(std::string_view message);

// Reports a command-line mistake on stderr with a pointer to the right --help. Returns kExitUsage.
int report_usage_error(std::string_view message, std::string_view help_command);

}  // namespace bulkhead::cli
