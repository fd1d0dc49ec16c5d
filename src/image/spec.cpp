#include "image/spec.hpp"

#include <toml++/toml.h>

#include "base/text.hpp"
#include "config/toml_reader.hpp"

namespace bulkhead::image {

namespace {

using config::TomlReader;

constexpr std::size_t kMaxEntries = 4096;
constexpr std::size_t kMaxSpecBytes = std::size_t{256} * 1024;

bool version_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

// An absolute path inside the root: no empty, "." or ".." components, no trailing slash.
bool root_path(std::string_view path) {
    if (path.size() < 2 || path.front() != '/' || path.back() == '/') return false;
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        const std::string_view part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") return false;
        start = end + 1;
    }
    return true;
}

std::string resolve(const std::string& base_dir, const std::string& path) {
    return path.front() == '/' ? path : base_dir + "/" + path;
}

Result<std::string> required_text(const TomlReader& reader, const toml::table& table, const std::string& path,
                                  const char* key) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return reader.error(path + key, "is required");
    auto value = reader.text(*node, path + key);
    if (!value) return fail(value.error());
    if (value->empty()) return reader.error(*node, path + key, "is empty");
    return value;
}

const toml::table* table_at(const TomlReader& reader, const toml::table& document, const char* key,
                            Result<void>& problem) {
    const toml::node* node = document.get(key);
    if (node == nullptr) {
        problem = reader.error(key, "is required");
        return nullptr;
    }
    const toml::table* table = node->as_table();
    if (table == nullptr) problem = reader.error(*node, key, "must be a table");
    return table;
}

Result<std::uint32_t> mode_of(const TomlReader& reader, const toml::node& node, const std::string& key) {
    auto text = reader.text(node, key);
    if (!text) return fail(text.error());
    if (text->size() != 4 || text->find_first_not_of("01234567") != std::string::npos) {
        return reader.error(node, key, "must be four octal digits such as \"0755\"");
    }
    const auto mode = static_cast<std::uint32_t>(std::stoul(*text, nullptr, 8));
    if ((mode & 07000U) != 0) return reader.error(node, key, "set-id and sticky bits are not allowed");
    return mode;
}

// Each table of the list `key` in `section` (absent: none), at most kMaxEntries.
template <class Each>
Result<void> list_of_tables(const TomlReader& reader, const toml::table& section, std::string_view section_name,
                            const char* key, Each&& each) {
    const toml::node* node = section.get(key);
    if (node == nullptr) return {};
    const toml::array* list = node->as_array();
    const std::string name = concat({section_name, ".", key});
    if (list == nullptr || list->size() > kMaxEntries)
        return reader.error(*node, name, "must be a list of at most 4096 tables");
    for (const toml::node& item : *list) {
        const toml::table* table = item.as_table();
        if (table == nullptr) return reader.error(item, name, "entries must be tables");
        if (auto read = each(*table, name); !read) return read;
    }
    return {};
}

Result<std::string> target_of(const TomlReader& reader, const toml::table& table, const std::string& name) {
    auto target = required_text(reader, table, name + ".", "target");
    if (!target) return fail(target.error());
    if (!root_path(*target)) {
        return reader.error(*table.get("target"), name + ".target",
                            "must be an absolute path without '.', '..' or '//'");
    }
    return target;
}

// A file entry of [root] or [initrd]: a program or data file, with its libraries if asked.
Result<RootFile> file_entry(const TomlReader& reader, const toml::table& table, const std::string& name,
                            const std::string& base_dir) {
    if (auto known = reader.only(table, name, {"source", "target", "mode", "libraries", "strip"}); !known) {
        return fail(known.error());
    }
    RootFile file;
    auto source_path = required_text(reader, table, name + ".", "source");
    if (!source_path) return fail(source_path.error());
    file.source = resolve(base_dir, *source_path);
    auto target = target_of(reader, table, name);
    if (!target) return fail(target.error());
    file.target = std::move(*target);
    const toml::node* mode = table.get("mode");
    if (mode == nullptr) return reader.error(name + ".mode", "is required");
    auto bits = mode_of(reader, *mode, name + ".mode");
    if (!bits) return fail(bits.error());
    file.mode = *bits;
    for (const auto& [key, field] : {std::pair{"libraries", &file.libraries}, std::pair{"strip", &file.strip}}) {
        if (const toml::node* node = table.get(key)) {
            const auto* flag = node->as_boolean();
            if (flag == nullptr) return reader.error(*node, name + "." + key, "must be true or false");
            *field = flag->get();
        }
    }
    return file;
}

// [initrd]: its /init and more files.
Result<void> read_initrd(const TomlReader& reader, const toml::table& document, const std::string& base_dir,
                         ImageSpec& spec) {
    Result<void> problem;
    const toml::table* initrd = table_at(reader, document, "initrd", problem);
    if (initrd == nullptr) return problem;
    if (auto known = reader.only(*initrd, "initrd", {"init", "files"}); !known) return known;
    auto init = required_text(reader, *initrd, "initrd.", "init");
    if (!init) return fail(init.error());
    spec.initrd_init = resolve(base_dir, *init);
    return list_of_tables(
        reader, *initrd, "initrd", "files", [&](const toml::table& table, const std::string& name) -> Result<void> {
            auto file = file_entry(reader, table, name, base_dir);
            if (!file) return fail(file.error());
            if (file->target == "/init") {
                return reader.error(*table.get("target"), name + ".target", "may not be /init: initrd.init is");
            }
            if (file->strip) {
                return reader.error(*table.get("strip"), name + ".strip",
                                    "is for root files: link initrd programs stripped");
            }
            spec.initrd_files.push_back(std::move(*file));
            return {};
        });
}

}  // namespace

Result<ImageSpec> parse_image_spec(std::string_view text, std::string_view source, const std::string& base_dir) {
    const TomlReader reader(source);
    if (text.size() > kMaxSpecBytes) return fail(ErrorCode::too_large, std::string(source) + ": larger than 256 KiB");
    toml::table document;
    try {
        document = toml::parse(text, source);
    } catch (const toml::parse_error& error) {
        const toml::source_position& at = error.source().begin;
        return fail(ErrorCode::parse, concat({source, ":", std::to_string(at.line), ":", std::to_string(at.column),
                                              ": ", error.description()}));
    }
    if (auto known = reader.only(document, "", {"version", "security_version", "kernel", "initrd", "root", "disk"});
        !known) {
        return fail(known.error());
    }
    ImageSpec spec;
    auto version = required_text(reader, document, "", "version");
    if (!version) return fail(version.error());
    if (version->size() > 64 || !std::all_of(version->begin(), version->end(), version_character)) {
        return reader.error(*document.get("version"), "version", "must be 1 to 64 characters of [A-Za-z0-9._-]");
    }
    spec.version = std::move(*version);
    const toml::node* security = document.get("security_version");
    if (security == nullptr) {
        return fail(ErrorCode::parse, concat({source, ": security_version: is required (0 before any security fix)"}));
    }
    auto security_version = reader.number(*security, "security_version", 0, 65535);
    if (!security_version) return fail(security_version.error());
    spec.security_version = *security_version;

    Result<void> problem;
    const toml::table* kernel = table_at(reader, document, "kernel", problem);
    if (kernel == nullptr) return fail(problem.error());
    if (auto known = reader.only(*kernel, "kernel",
                                 {"image", "modules_dir", "initrd_modules", "args", "efi_stub", "boot_manager"});
        !known) {
        return fail(known.error());
    }
    for (const auto& [key, field] :
         {std::pair{"image", &spec.kernel}, std::pair{"modules_dir", &spec.kernel_modules_dir},
          std::pair{"initrd_modules", &spec.initrd_modules}, std::pair{"efi_stub", &spec.efi_stub}}) {
        auto value = required_text(reader, *kernel, "kernel.", key);
        if (!value) return fail(value.error());
        *field = resolve(base_dir, *value);
    }
    if (kernel->get("boot_manager") != nullptr) {
        auto value = required_text(reader, *kernel, "kernel.", "boot_manager");
        if (!value) return fail(value.error());
        spec.boot_manager = resolve(base_dir, *value);
    }
    if (const toml::node* args = kernel->get("args")) {
        const toml::array* list = args->as_array();
        if (list == nullptr || list->size() > 64)
            return reader.error(*args, "kernel.args", "must be a list of at most 64 strings");
        for (const toml::node& arg : *list) {
            auto value = reader.text(arg, "kernel.args");
            if (!value) return fail(value.error());
            if (value->empty() || value->find_first_of(" \t\n\"") != std::string::npos ||
                value->starts_with("bulkhead.") || value->starts_with("init=") || value->starts_with("rdinit=") ||
                value->starts_with("lockdown=")) {
                return reader.error(
                    arg, "kernel.args",
                    "'" + *value +
                        "' must be one word, and bulkhead.*, init=, rdinit= and lockdown= are set by the builder");
            }
            spec.kernel_args.push_back(std::move(*value));
        }
    }

    if (auto read = read_initrd(reader, document, base_dir, spec); !read) return fail(read.error());

    const toml::table* root = table_at(reader, document, "root", problem);
    if (root == nullptr) return fail(problem.error());
    if (auto known = reader.only(*root, "root", {"files", "trees", "directories", "symlinks"}); !known) {
        return fail(known.error());
    }
    if (auto read = list_of_tables(reader, *root, "root", "files",
                                   [&](const toml::table& table, const std::string& name) -> Result<void> {
                                       auto file = file_entry(reader, table, name, base_dir);
                                       if (!file) return fail(file.error());
                                       spec.files.push_back(std::move(*file));
                                       return {};
                                   });
        !read) {
        return fail(read.error());
    }
    if (auto read = list_of_tables(reader, *root, "root", "trees",
                                   [&](const toml::table& table, const std::string& name) -> Result<void> {
                                       if (auto known = reader.only(table, name, {"source", "target"}); !known)
                                           return known;
                                       auto source_path = required_text(reader, table, name + ".", "source");
                                       if (!source_path) return fail(source_path.error());
                                       auto target = target_of(reader, table, name);
                                       if (!target) return fail(target.error());
                                       spec.trees.push_back({resolve(base_dir, *source_path), std::move(*target)});
                                       return {};
                                   });
        !read) {
        return fail(read.error());
    }
    if (auto read = list_of_tables(reader, *root, "root", "symlinks",
                                   [&](const toml::table& table, const std::string& name) -> Result<void> {
                                       if (auto known = reader.only(table, name, {"path", "to"}); !known) return known;
                                       auto path = required_text(reader, table, name + ".", "path");
                                       if (!path) return fail(path.error());
                                       if (!root_path(*path))
                                           return reader.error(*table.get("path"), name + ".path",
                                                               "must be an absolute path");
                                       auto to = required_text(reader, table, name + ".", "to");
                                       if (!to) return fail(to.error());
                                       spec.symlinks.emplace_back(std::move(*path), std::move(*to));
                                       return {};
                                   });
        !read) {
        return fail(read.error());
    }
    if (const toml::node* directories = root->get("directories")) {
        const toml::array* list = directories->as_array();
        if (list == nullptr || list->size() > kMaxEntries) {
            return reader.error(*directories, "root.directories", "must be a list of paths");
        }
        for (const toml::node& item : *list) {
            auto path = reader.text(item, "root.directories");
            if (!path) return fail(path.error());
            if (!root_path(*path))
                return reader.error(item, "root.directories", "'" + *path + "' is not an absolute path");
            spec.directories.push_back(std::move(*path));
        }
    }
    if (spec.files.empty()) return reader.error("root.files", "must list at least the init program");

    if (const toml::node* disk_node = document.get("disk")) {
        const toml::table* disk = disk_node->as_table();
        if (disk == nullptr) return reader.error(*disk_node, "disk", "must be a table");
        if (auto known = reader.only(*disk, "disk", {"esp_mib", "root_slot_mib", "verity_slot_mib", "state_mib"});
            !known) {
            return fail(known.error());
        }
        for (const auto& [key, field, low, high] : {std::tuple{"esp_mib", &spec.esp_mib, 512, 4096},
                                                    std::tuple{"root_slot_mib", &spec.root_slot_mib, 16, 65536},
                                                    std::tuple{"verity_slot_mib", &spec.verity_slot_mib, 1, 4096},
                                                    std::tuple{"state_mib", &spec.state_mib, 16, 1048576}}) {
            if (const toml::node* node = disk->get(key)) {
                auto value = reader.number(*node, std::string("disk.") + key, low, high);
                if (!value) return fail(value.error());
                *field = *value;
            }
        }
    }
    return spec;
}

Result<void> set_release(ImageSpec& spec, const std::optional<std::string>& version,
                         const std::optional<std::int64_t>& security_version) {
    if (version) {
        if (version->empty() || version->size() > 64 ||
            !std::all_of(version->begin(), version->end(), version_character)) {
            return fail(ErrorCode::invalid_argument, "the version must be 1 to 64 characters of [A-Za-z0-9._-]");
        }
        spec.version = *version;
    }
    if (security_version) {
        if (*security_version < 0 || *security_version > 65535) {
            return fail(ErrorCode::invalid_argument, "the security version must be between 0 and 65535");
        }
        spec.security_version = static_cast<std::uint32_t>(*security_version);
    }
    return {};
}

}  // namespace bulkhead::image
