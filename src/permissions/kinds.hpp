// The closed set of things an app VM can be granted. Every one is denied until the user grants
// it; an app definition may only say which it would like.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace bulkhead::permissions {

enum class Kind { network, clipboard, files, audio, camera, usb, display };

inline constexpr std::array<Kind, 7> kAllKinds = {Kind::network, Kind::clipboard, Kind::files,  Kind::audio,
                                                  Kind::camera,  Kind::usb,       Kind::display};

std::string_view kind_name(Kind kind) noexcept;
std::optional<Kind> kind_from_name(std::string_view name) noexcept;

}  // namespace bulkhead::permissions
