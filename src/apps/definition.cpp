#include "apps/definition.hpp"

#include <algorithm>
#include <initializer_list>

#include <toml++/toml.h>

#include "apps/image_import.hpp"
#include "config/toml_reader.hpp"

namespace bulkhead::apps {

namespace {

using config::TomlReader;

constexpr std::size_t kMaxArgs = 256;
constexpr std::size_t kMaxEnv = 256;

bool is_env_name(std::string_view name) {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

Result<void> read_run(const TomlReader& reader, const toml::node& node, AppDefinition& app) {
    const toml::table* run = node.as_table();
    if (run == nullptr) return reader.error(node, "run", "must be a table");
    if (auto known = reader.only(*run, "run", {"command", "args", "env", "restart"}); !known) return known;
    const toml::node* command = run->get("command");
    if (command == nullptr) return reader.error(node, "run.command", "is required");
    auto command_text = reader.text(*command, "run.command");
    if (!command_text) return fail(command_text.error());
    if (command_text->empty() || command_text->front() != '/') {
        return reader.error(*command, "run.command", "must be an absolute path inside the VM");
    }
    app.command = std::move(*command_text);
    if (const toml::node* args = run->get("args")) {
        const toml::array* list = args->as_array();
        if (list == nullptr) return reader.error(*args, "run.args", "must be a list of strings");
        if (list->size() > kMaxArgs) return reader.error(*args, "run.args", "has more than 256 entries");
        for (const toml::node& arg : *list) {
            auto value = reader.text(arg, "run.args");
            if (!value) return fail(value.error());
            app.args.push_back(std::move(*value));
        }
    }
    if (const toml::node* env = run->get("env")) {
        const toml::table* table = env->as_table();
        if (table == nullptr) return reader.error(*env, "run.env", "must be a table of strings");
        if (table->size() > kMaxEnv) return reader.error(*env, "run.env", "has more than 256 entries");
        for (const auto& [key, value] : *table) {
            const std::string name(key.str());
            if (!is_env_name(name)) return reader.error(value, "run.env." + name, "is not a variable name");
            auto text = reader.text(value, "run.env." + name);
            if (!text) return fail(text.error());
            app.env.emplace_back(name, std::move(*text));
        }
        std::sort(app.env.begin(), app.env.end());
    }
    if (const toml::node* restart = run->get("restart")) {
        auto policy = reader.text(*restart, "run.restart");
        if (!policy) return fail(policy.error());
        if (*policy == "never") {
            app.restart = RestartPolicy::never;
        } else if (*policy == "on-failure") {
            app.restart = RestartPolicy::on_failure;
        } else if (*policy == "always") {
            app.restart = RestartPolicy::always;
        } else {
            return reader.error(*restart, "run.restart", "must be never, on-failure or always");
        }
    }
    return {};
}

Result<void> read_resources(const TomlReader& reader, const toml::node& node, AppDefinition& app) {
    const toml::table* resources = node.as_table();
    if (resources == nullptr) return reader.error(node, "resources", "must be a table");
    if (auto known = reader.only(*resources, "resources", {"memory_mib", "vcpus", "state_disk_mib"}); !known) {
        return known;
    }
    struct Field {
        const char* key;
        std::uint32_t* target;
        std::int64_t low;
        std::int64_t high;
    };
    for (const Field& field : {Field{"memory_mib", &app.memory_mib, 64, 16384}, Field{"vcpus", &app.vcpus, 1, 16},
                               Field{"state_disk_mib", &app.state_disk_mib, 0, 65536}}) {
        const toml::node* value = resources->get(field.key);
        if (value == nullptr) continue;
        auto number = reader.number(*value, std::string("resources.") + field.key, field.low, field.high);
        if (!number) return fail(number.error());
        *field.target = *number;
    }
    return {};
}

Result<void> read_permissions(const TomlReader& reader, const toml::node& node, AppDefinition& app) {
    const toml::table* table = node.as_table();
    if (table == nullptr) return reader.error(node, "permissions", "must be a table");
    if (auto known = reader.only(*table, "permissions", {"request"}); !known) return known;
    const toml::node* request = table->get("request");
    if (request == nullptr) return {};
    const toml::array* list = request->as_array();
    if (list == nullptr) return reader.error(*request, "permissions.request", "must be a list of strings");
    for (const toml::node& item : *list) {
        auto name = reader.text(item, "permissions.request");
        if (!name) return fail(name.error());
        const auto kind = permissions::kind_from_name(*name);
        if (!kind) {
            return reader.error(item, "permissions.request",
                                "'" + *name + "' is not one of " + permissions::all_kind_names());
        }
        if (!app.requested.insert(*kind).second) {
            return reader.error(item, "permissions.request", "'" + *name + "' is listed twice");
        }
    }
    return {};
}

}  // namespace

std::string_view restart_policy_name(RestartPolicy policy) noexcept {
    switch (policy) {
        case RestartPolicy::never: return "never";
        case RestartPolicy::on_failure: return "on-failure";
        case RestartPolicy::always: return "always";
    }
    return "never";
}

Result<void> check_app_name(std::string_view name) {
    const auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (name.empty() || name.size() > kMaxAppNameBytes) {
        return fail(ErrorCode::invalid_argument,
                    "an app name has 1 to " + std::to_string(kMaxAppNameBytes) + " characters");
    }
    const bool valid = name.front() >= 'a' && name.front() <= 'z' && lower_or_digit(name.back()) &&
                       std::all_of(name.begin(), name.end(), [&](char c) { return lower_or_digit(c) || c == '-'; });
    if (!valid) {
        return fail(
            ErrorCode::invalid_argument,
            "app name '" + std::string(name) +
                "' must start with a lower-case letter, end with a letter or digit, and use only a-z, 0-9 and '-'");
    }
    return {};
}

Result<AppDefinition> parse_app_definition(std::string_view text, std::string_view source) {
    const TomlReader reader(source);
    if (text.size() > kMaxDefinitionBytes) {
        return fail(ErrorCode::too_large, std::string(source) + ": larger than 64 KiB");
    }
    toml::table document;
    try {
        document = toml::parse(text, source);
    } catch (const toml::parse_error& error) {
        const toml::source_position& at = error.source().begin;
        return fail(ErrorCode::parse, std::string(source) + ":" + std::to_string(at.line) + ":" +
                                          std::to_string(at.column) + ": " + std::string(error.description()));
    }
    if (auto known = reader.only(document, "", {"name", "version", "image", "run", "resources", "permissions"});
        !known) {
        return fail(known.error());
    }
    AppDefinition app;
    for (const char* key : {"name", "version", "image"}) {
        const toml::node* node = document.get(key);
        if (node == nullptr) return reader.error(key, "is required");
        auto value = reader.text(*node, key);
        if (!value) return fail(value.error());
        if (value->empty()) return reader.error(*node, key, "is empty");
        (std::string_view(key) == "name"      ? app.name
         : std::string_view(key) == "version" ? app.version
                                              : app.image) = std::move(*value);
    }
    if (auto named = check_app_name(app.name); !named)
        return reader.error(*document.get("name"), "name", named.error().message);
    if (auto inside = check_image_path(app.image); !inside)
        return reader.error(*document.get("image"), "image", inside.error().message);
    const toml::node* run = document.get("run");
    if (run == nullptr) return reader.error("run", "is required (at least run.command)");
    if (auto read = read_run(reader, *run, app); !read) return fail(read.error());
    if (const toml::node* resources = document.get("resources")) {
        if (auto read = read_resources(reader, *resources, app); !read) return fail(read.error());
    }
    if (const toml::node* requested = document.get("permissions")) {
        if (auto read = read_permissions(reader, *requested, app); !read) return fail(read.error());
    }
    return app;
}

}  // namespace bulkhead::apps
