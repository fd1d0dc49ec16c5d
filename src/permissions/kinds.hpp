// The closed set of things an app VM can be granted. Every one is denied until the user grants
// it; an app definition may only say which it would like.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace bulkhead::permissions {

enum class Kind { network, expose_port, files, clipboard, display, audio_out, microphone, camera, usb };

inline constexpr std::array<Kind, 9> kAllKinds = {Kind::network,    Kind::expose_port, Kind::files,
                                                  Kind::clipboard,  Kind::display,     Kind::audio_out,
                                                  Kind::microphone, Kind::camera,      Kind::usb};

std::string_view kind_name(Kind kind) noexcept;
std::optional<Kind> kind_from_name(std::string_view name) noexcept;

// "network, expose-port, ...": every name, for messages.
std::string all_kind_names();

}  // namespace bulkhead::permissions
