#include "permissions/kinds.hpp"

namespace bulkhead::permissions {

std::string_view kind_name(Kind kind) noexcept {
    switch (kind) {
        case Kind::network: return "network";
        case Kind::clipboard: return "clipboard";
        case Kind::files: return "files";
        case Kind::audio: return "audio";
        case Kind::camera: return "camera";
        case Kind::usb: return "usb";
        case Kind::display: return "display";
    }
    return "unknown";
}

std::optional<Kind> kind_from_name(std::string_view name) noexcept {
    for (const Kind kind : kAllKinds) {
        if (kind_name(kind) == name) return kind;
    }
    return std::nullopt;
}

}  // namespace bulkhead::permissions
