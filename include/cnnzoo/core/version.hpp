#pragma once
// cnnzoo's version, written into weight files and reports. CMakeLists.txt refuses to configure
// when it differs from the project's VERSION.
#include <string_view>

namespace cnnzoo {
inline constexpr std::string_view version = "0.1.0";
}  // namespace cnnzoo
