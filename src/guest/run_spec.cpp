#include "guest/run_spec.hpp"

#include <algorithm>
#include <set>

namespace bulkhead::guest {

std::string join_nul_list(const std::vector<std::string>& items) {
    std::string bytes;
    for (const std::string& item : items) {
        bytes += item;
        bytes.push_back('\0');
    }
    return bytes;
}

Result<std::vector<std::string>> split_nul_list(std::string_view bytes, std::string_view what) {
    if (bytes.size() > kMaxListBytes) return fail(ErrorCode::too_large, std::string(what) + " is larger than 256 KiB");
    if (!bytes.empty() && bytes.back() != '\0') {
        return fail(ErrorCode::parse, std::string(what) + " does not end with a NUL");
    }
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start < bytes.size()) {
        const std::size_t end = bytes.find('\0', start);
        if (items.size() == kMaxListItems) return fail(ErrorCode::too_large, std::string(what) + " has too many items");
        items.emplace_back(bytes.substr(start, end - start));
        start = end + 1;
    }
    return items;
}

std::string_view restart_name(Restart restart) noexcept {
    switch (restart) {
        case Restart::never: return "never";
        case Restart::on_failure: return "on-failure";
        case Restart::always: return "always";
    }
    return "never";
}

Result<Restart> parse_restart(std::string_view text) {
    for (const Restart restart : {Restart::never, Restart::on_failure, Restart::always}) {
        if (text == restart_name(restart)) return restart;
    }
    return fail(ErrorCode::parse, "restart policy '" + std::string(text) + "' is not never, on-failure or always");
}

Result<RunSpec> make_run_spec(std::vector<std::string> argv, std::vector<std::string> env) {
    if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
        return fail(ErrorCode::invalid_argument, "the app's program must be an absolute path");
    }
    std::set<std::string> names;
    for (const std::string& entry : env) {
        const std::size_t equals = entry.find('=');
        if (equals == 0 || equals == std::string::npos) {
            return fail(ErrorCode::invalid_argument, "environment entry '" + entry + "' is not NAME=value");
        }
        if (!names.insert(entry.substr(0, equals)).second) {
            return fail(ErrorCode::invalid_argument,
                        "environment variable " + entry.substr(0, equals) + " is set twice");
        }
    }
    return RunSpec{std::move(argv), std::move(env), Restart::never};
}

}  // namespace bulkhead::guest
