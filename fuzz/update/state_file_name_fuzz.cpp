// Fuzzes the reading of names in the ESP's TUF state directory (anyone with the disk can put
// any name there): never a crash; a name taken as ours spells its kind and version exactly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "update/trusted_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view name(reinterpret_cast<const char*>(data), size);
    const auto parsed = bulkhead::update::parse_state_file_name(name);
    if (!parsed) return 0;
    using Kind = bulkhead::update::StateFileName::Kind;
    if (parsed->kind == Kind::temporary) {
        if (!name.starts_with(".partial-")) std::abort();
        return 0;
    }
    if (parsed->version < 1) std::abort();
    const std::string version = std::to_string(parsed->version);
    const std::string expected = parsed->kind == Kind::root        ? version + ".root.json"
                                 : parsed->kind == Kind::timestamp ? "timestamp-" + version + ".json"
                                                                   : "snapshot-" + version + ".json";
    if (name != expected) std::abort();
    return 0;
}
