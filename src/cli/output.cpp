#include "cli/output.hpp"

#include <cstdio>
#include <string>

namespace bulkhead::cli {

void print_json(const nlohmann::json& document) {
    const std::string text = document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

int report_error(const Error& error, bool json) {
    if (json) {
        print_json({{"error", {{"code", error_code_name(error.code)}, {"message", error.message}}}});
    } else {
        std::fprintf(stderr, "bulkhead: %s\n", error.message.c_str());
    }
    return kExitRefused;
}

int report_usage_error(std::string_view message, std::string_view help_command) {
    std::fprintf(stderr, "bulkhead: %.*s\nRun '%.*s --help' for usage.\n", static_cast<int>(message.size()),
                 message.data(), static_cast<int>(help_command.size()), help_command.data());
    return kExitUsage;
}

}  // namespace bulkhead::cli
