// `bulkhead`: the user's command-line tool. Thin: parses, dispatches, maps results to exit codes.
#include <exception>
#include <string>
#include <vector>

#include "cli/output.hpp"
#include "commands.hpp"

#ifndef BULKHEAD_VERSION
#error "BULKHEAD_VERSION must be defined by the build"
#endif

namespace {

int run(int argc, char** argv) {
    using namespace bulkhead;
    CLI::App app{"Bulkhead: every app in its own VM, every permission denied until granted.", "bulkhead"};
    app.require_subcommand(1, 1);
    app.set_version_flag("--version", BULKHEAD_VERSION);
    app.footer(
        "Commands take the form 'bulkhead <noun> <verb>'. Exit codes: 0 ok, 1 check failed or operation "
        "refused, 2 usage error. Every command accepts --json.");

    std::vector<cmd::CommandRunner> commands;
    commands.push_back(cmd::register_hcl(app));
    commands.push_back(cmd::register_keys(app));
    commands.push_back(cmd::register_image(app, *app.get_subcommand("keys")));
    commands.push_back(cmd::register_repo(app));
    commands.push_back(cmd::register_app(app));
    commands.push_back(cmd::register_system(app));
    commands.push_back(cmd::register_curate(app));

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForVersion& version) {
        return app.exit(version);
    } catch (const CLI::ParseError& error) {
        std::string help_command = "bulkhead";
        for (const CLI::App* sub : app.get_subcommands()) help_command += " " + sub->get_name();
        return cli::report_usage_error(error.what(), help_command);
    }

    for (const cmd::CommandRunner& command : commands) {
        const int code = command();
        if (code >= 0) return code;
    }
    return cli::report_usage_error("no command given", "bulkhead");
}

}  // namespace

int main(int argc, char** argv) {
    // Library code reports errors as values; this only catches what third-party code (CLI11,
    // the standard library) may still throw, such as std::bad_alloc.
    try {
        return run(argc, argv);
    } catch (const std::exception& unexpected) {
        return bulkhead::cli::report_error(
            {bulkhead::ErrorCode::internal, std::string("internal error: ") + unexpected.what()}, false);
    } catch (...) {
        return bulkhead::cli::report_error({bulkhead::ErrorCode::internal, "internal error"}, false);
    }
}
