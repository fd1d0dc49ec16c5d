// `bulkhead app`: the client of bulkheadd's API (bulkhead.api/1, one JSON object per line).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "cli/output.hpp"
#include "commands.hpp"
#include "daemon_client.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::cmd {

namespace {

struct AppOptions {
    std::string socket = "/run/bulkhead/bulkheadd.sock";
    std::string name;
    std::string definition;
    bool purge = false;
    bool json = false;
    std::string permission;
    bool yes = false;
    bool force = false;
    // bulkhead audit
    std::string app;
    std::string action;
    std::string since;
};

std::string field(const json::Value& object, const char* key) {
    const json::Value* value = object.find(key);
    if (value == nullptr) return "";
    if (value->is_string()) return value->as_string();
    if (value->is_integer()) return std::to_string(value->as_integer());
    return json::to_json(*value);
}

std::string describe(const json::Value& status) {
    std::string line = field(status, "name") + " " + field(status, "version") + ": " + field(status, "state");
    if (const json::Value* exit = status.find("exit")) {
        line += field(*exit, "signalled") == "true" ? " (killed by signal " + field(*exit, "code") + ")"
                                                    : " (exit status " + field(*exit, "code") + ")";
    }
    if (status.find("crash") != nullptr) line += " (" + field(status, "crash") + ")";
    if (status.find("vmm_pid") != nullptr) line += ", VMM pid " + field(status, "vmm_pid");
    line += ", host uid " + field(status, "uid");
    return line + "\n";
}

std::string list_of(const json::Value& response, const char* key) {
    std::string out;
    const json::Value* items = response.find(key);
    if (items == nullptr || !items->is_array()) return out;
    for (const json::Value& item : items->as_array()) {
        if (item.is_string()) out += (out.empty() ? "" : ", ") + item.as_string();
    }
    return out.empty() ? "none" : out;
}

std::string describe_audit(const json::Value& entry) {
    std::string line = field(entry, "time") + "  " + field(entry, "app") + "  uid " + field(entry, "actor_uid") + "  " +
                       field(entry, "action") + " " + field(entry, "decision");
    const std::string permissions = list_of(entry, "permissions");
    if (permissions != "none") line += "  " + permissions;
    if (entry.find("reason") != nullptr) line += "  (" + field(entry, "reason") + ")";
    return line + "\n";
}

// A grant widens what an app may do: on a terminal the user confirms it; elsewhere --yes must
// say so explicitly.
Result<void> confirm_grant(const AppOptions& options) {
    if (options.yes) return {};
    if (::isatty(STDIN_FILENO) == 0) {
        return fail(ErrorCode::invalid_argument, "not confirmed: stdin is not a terminal; pass --yes to grant");
    }
    std::cerr << "Grant " << options.permission << " to " << options.name << "? [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "yes")) {
        return fail(ErrorCode::invalid_argument, "not granted: not confirmed");
    }
    return {};
}

int perform(const std::string& op, const AppOptions& options) {
    if (op == "grant") {
        if (auto confirmed = confirm_grant(options); !confirmed)
            return cli::report_error(confirmed.error(), options.json);
    }
    json::Object request{{"api", json::Value(std::string("bulkhead.api/1"))}, {"op", json::Value(op)}};
    if (!options.name.empty()) request.emplace_back("name", json::Value(options.name));
    if (op == "grant" || op == "revoke") request.emplace_back("permission", json::Value(options.permission));
    if (op == "grant") request.emplace_back("force", json::Value(options.force));
    if (op == "audit") {
        if (!options.app.empty()) request.emplace_back("app", json::Value(options.app));
        if (!options.action.empty()) request.emplace_back("action", json::Value(options.action));
        if (!options.since.empty()) request.emplace_back("since", json::Value(options.since));
    }
    if (op == "add") {
        std::error_code error;
        request.emplace_back("definition", json::Value(std::filesystem::absolute(options.definition, error).string()));
    }
    if (op == "remove") request.emplace_back("purge", json::Value(options.purge));
    (void)json::sort_members(request);
    auto response = call_bulkheadd(options.socket, json::Value(std::move(request)));
    if (!response) return cli::report_error(response.error(), options.json);
    if (options.json) return cli::print_text(json::to_json(*response) + "\n") ? cli::kExitOk : cli::kExitRefused;
    std::string text;
    if (op == "list") {
        for (const json::Value& app : response->find("apps")->as_array()) text += describe(app);
        if (text.empty()) text = "no apps installed\n";
    } else if (op == "status") {
        text = describe(*response);
    } else if (op == "logs") {
        text = field(*response, "output");
    } else if (op == "add") {
        text = "added " + field(*response, "added") + " (host uid " + field(*response, "uid") + ")\n";
    } else if (op == "permissions") {
        text = "granted: " + list_of(*response, "granted") +
               "\nrequested, not granted: " + list_of(*response, "requested_not_granted") + "\n";
    } else if (op == "grant" || op == "revoke") {
        text = (op == "grant" ? "granted " + field(*response, "granted") + " to "
                              : "revoked " + field(*response, "revoked") + " from ") +
               options.name + " (takes effect " + field(*response, "effect") + ")\n";
    } else if (op == "audit") {
        for (const json::Value& entry : response->find("entries")->as_array()) text += describe_audit(entry);
        if (text.empty()) text = "no audit entries\n";
    } else {
        text = op + ": " + options.name + "\n";
    }
    return cli::print_text(text) ? cli::kExitOk : cli::kExitRefused;
}

}  // namespace

CommandRunner register_app(CLI::App& app) {
    auto options = std::make_shared<AppOptions>();
    CLI::App* apps = app.add_subcommand("app", "Install, run and watch apps, each in its own VM (via bulkheadd)");
    apps->require_subcommand(1, 1);
    apps->add_option("--socket", options->socket, "bulkheadd's socket (default /run/bulkhead/bulkheadd.sock)");
    std::vector<std::pair<std::string, CLI::App*>> commands;
    auto command = [&](const char* name, const char* help) {
        CLI::App* sub = apps->add_subcommand(name, help);
        sub->add_flag("--json", options->json, "Print bulkheadd's response as JSON");
        commands.emplace_back(name, sub);
        return sub;
    };
    command("add", "Install an app from its definition (needs root)")
        ->add_option("definition", options->definition, "The app's TOML definition")
        ->required()
        ->check(CLI::ExistingFile);
    command("list", "List installed apps and their state");
    for (const char* name : {"start", "stop", "status", "logs"}) {
        command(name, name == std::string("start")    ? "Start an app in its VM"
                      : name == std::string("stop")   ? "Stop an app and its VM"
                      : name == std::string("status") ? "Show an app's state"
                                                      : "Show an app's recent output")
            ->add_option("name", options->name, "App name")
            ->required();
    }
    CLI::App* remove = command("remove", "Uninstall an app; its data stays unless --purge (needs root)");
    remove->add_option("name", options->name, "App name")->required();
    remove->add_flag("--purge", options->purge, "Also delete its data, host user and group");
    command("permissions", "Show an app's granted permissions, and those it requests that are not granted")
        ->add_option("name", options->name, "App name")
        ->required();
    CLI::App* grant = command("grant", "Grant an app a permission (needs root; asks on a terminal)");
    grant->add_option("name", options->name, "App name")->required();
    grant->add_option("permission", options->permission, "network, network:HOST:PORT, expose-port:GUEST:HOST, ...")
        ->required();
    grant->add_flag("--yes", options->yes, "Do not ask for confirmation");
    grant->add_flag("--force", options->force, "Also grant a permission the app's definition does not request");
    CLI::App* revoke = command("revoke", "Take a permission away from an app (at once for network)");
    revoke->add_option("name", options->name, "App name")->required();
    revoke->add_option("permission", options->permission, "The permission as granted")->required();

    // `bulkhead audit`: a noun of its own, answered by the same daemon.
    CLI::App* audit = app.add_subcommand("audit", "Show the audit log of grants, revokes, VM starts and refusals");
    audit->add_option("--socket", options->socket, "bulkheadd's socket (default /run/bulkhead/bulkheadd.sock)");
    audit->add_option("--app", options->app, "Only this app's entries");
    audit->add_option("--action", options->action, "Only entries of this action")
        ->check(CLI::IsMember({"grant", "revoke", "start", "denied"}));
    audit->add_option("--since", options->since, "Only entries at or after this UTC time (2026-11-27T12:00:00Z)");
    audit->add_flag("--json", options->json, "Print bulkheadd's response as JSON");
    commands.emplace_back("audit", audit);
    // The socket string lives in `options`, which the returned runner keeps alive.
    CommandRunner store = register_app_store(*apps, options->socket);
    return [commands, options, store]() -> int {
        for (const auto& [name, sub] : commands) {
            if (sub->parsed()) return perform(name, *options);
        }
        return store();
    };
}

}  // namespace bulkhead::cmd
