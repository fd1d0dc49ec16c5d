#include "permissions/kinds.hpp"

namespace bulkhead::permissions {

std::string_view kind_name(Kind kind) noexcept {
    switch (kind) {
        case Kind::network: return "network";
        case Kind::expose_port: return "expose-port";
        case Kind::files: return "files";
        case Kind::clipboard: return "clipboard";
        case Kind::display: return "display";
        case Kind::audio_out: return "audio-out";
        case Kind::microphone: return "microphone";
        case Kind::camera: return "camera";
        case Kind::usb: return "usb";
    }
    return "unknown";
}

std::optional<Kind> kind_from_name(std::string_view name) noexcept {
    for (const Kind kind : kAllKinds) {
        if (kind_name(kind) == name) return kind;
    }
    return std::nullopt;
}

std::string all_kind_names() {
    std::string names;
    for (const Kind kind : kAllKinds) {
        if (!names.empty()) names += ", ";
        names += kind_name(kind);
    }
    return names;
}

}  // namespace bulkhead::permissions
