// `bulkhead app`: the client of bulkheadd's API (bulkhead.api/1, one JSON object per line).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "cli/output.hpp"
#include "commands.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::cmd {

namespace {

constexpr std::size_t kMaxResponseBytes = std::size_t{4} << 20;

struct AppOptions {
    std::string socket = "/run/bulkhead/bulkheadd.sock";
    std::string name;
    std::string definition;
    bool purge = false;
    bool json = false;
};

Result<json::Value> call(const std::string& socket_path, const json::Value& request) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path) return fail(ErrorCode::invalid_argument, "socket path too long");
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        return fail(Error::from_errno(errno, "connecting to bulkheadd at " + socket_path + " (is it running?)"));
    }
    // Sent without SIGPIPE: a daemon that refuses us closes the connection, and its refusal is
    // what we then read.
    const std::string line = json::to_json(request) + "\n";
    for (std::size_t sent = 0; sent < line.size();) {
        const ssize_t put = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (put <= 0) break;
        sent += static_cast<std::size_t>(put);
    }
    (void)::shutdown(fd.get(), SHUT_WR);
    auto bytes = read_fd_bounded(fd.get(), kMaxResponseBytes, "bulkheadd's response");
    if (!bytes) return fail(bytes.error());
    const std::size_t end = bytes->find('\n');
    auto response = json::parse(std::string_view(*bytes).substr(0, end));
    if (!response || !response->is_object())
        return fail(ErrorCode::parse, "bulkheadd sent a response that is not JSON");
    const json::Value* ok = response->find("ok");
    if (ok == nullptr || !ok->is_bool()) return fail(ErrorCode::parse, "bulkheadd's response has no \"ok\"");
    if (!ok->as_bool()) {
        const json::Value* error = response->find("error");
        const json::Value* message = error != nullptr ? error->find("message") : nullptr;
        return fail(ErrorCode::invalid_argument,
                    message != nullptr && message->is_string() ? message->as_string() : "bulkheadd refused");
    }
    return response;
}

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

int perform(const std::string& op, const AppOptions& options) {
    json::Object request{{"api", json::Value(std::string("bulkhead.api/1"))}, {"op", json::Value(op)}};
    if (!options.name.empty()) request.emplace_back("name", json::Value(options.name));
    if (op == "add") {
        std::error_code error;
        request.emplace_back("definition", json::Value(std::filesystem::absolute(options.definition, error).string()));
    }
    if (op == "remove") request.emplace_back("purge", json::Value(options.purge));
    (void)json::sort_members(request);
    auto response = call(options.socket, json::Value(std::move(request)));
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
    return [commands, options]() -> int {
        for (const auto& [name, sub] : commands) {
            if (sub->parsed()) return perform(name, *options);
        }
        return -1;
    };
}

}  // namespace bulkhead::cmd
