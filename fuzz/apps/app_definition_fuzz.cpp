// Fuzzes app definitions: any text may be refused, never crash or hang; an accepted definition
// satisfies every rule the parser promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "apps/definition.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto app = bulkhead::apps::parse_app_definition(text, "fuzz");
    if (!app) return 0;
    if (!bulkhead::apps::check_app_name(app->name) || app->command.empty() || app->command.front() != '/') std::abort();
    if (app->memory_mib < 64 || app->memory_mib > 16384 || app->vcpus < 1 || app->vcpus > 16) std::abort();
    return 0;
}
