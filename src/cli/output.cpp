#include "cli/output.hpp"

#include <cstdio>
#include <string>

namespace bulkhead::cli {

namespace {

bool write_stream(std::FILE* stream, std::string_view text) {
    const bool written = std::fwrite(text.data(), 1, text.size(), stream) == text.size();
    return std::fflush(stream) == 0 && written;
}

}  // namespace

bool print_text(std::string_view text) { return write_stream(stdout, text); }

bool print_json(const nlohmann::ordered_json& document) {
    std::string text = document.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    text += '\n';
    return write_stream(stdout, text);
}

int report_error(const Error& error, bool json) {
    if (json) {
        (void)print_json({{"error", {{"code", error_code_name(error.code)}, {"message", error.message}}}});
    } else {
        (void)write_stream(stderr, "bulkhead: " + error.message + "\n");
    }
    return kExitRefused;
}

void report_warning(std::string_view message) {
    std::string text = "bulkhead: warning: ";
    text += message;
    text += "\n";
    (void)write_stream(stderr, text);
}

int report_usage_error(std::string_view message, std::string_view help_command) {
    std::string text = "bulkhead: ";
    text += message;
    text += "\nRun '";
    text += help_command;
    text += " --help' for usage.\n";
    (void)write_stream(stderr, text);
    return kExitUsage;
}

}  // namespace bulkhead::cli
