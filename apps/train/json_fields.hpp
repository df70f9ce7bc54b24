#pragma once
// Reading a typed field of a JSON object that came from a file (a checkpoint's recipe, a metrics
// line): the value must have the field's kind and fit its type. nlohmann's get<int>() of 5e9 or of
// 1.5 converts without a word (and a double outside int's range is undefined behaviour), so every
// numeric field the trainer reads back goes through here.
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include <cnnzoo/core/error.hpp>

namespace cnnzoo::trainer {

// A field of the wrong kind or out of its type's range; the message names it.
class json_field_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

template <class T>
T json_value(const nlohmann::json& v, const std::string& name) {
  auto bad = [&](const char* want) {
    return json_field_error("field '" + name + "' is " + v.dump().substr(0, 40) + ", not " + want);
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw bad("true or false");
    return v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) throw bad("a whole number");
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) throw bad("a whole number in range");
      return static_cast<T>(u);
    }
    const auto s = v.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (s < 0) throw bad("a whole number >= 0");
      return static_cast<T>(s);
    } else {
      if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max()) throw bad("a whole number in range");
      return static_cast<T>(s);
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) throw bad("a number");
    return v.get<T>();
  } else {
    if (!v.is_string()) throw bad("a string");
    return v.get<std::string>();
  }
}

// obj[name] into `out` when present (absent: `out` keeps its default).
template <class T>
void read_json_field(const nlohmann::json& obj, const std::string& name, T& out) {
  if (!obj.is_object()) throw json_field_error("not a JSON object");
  if (const auto it = obj.find(name); it != obj.end()) out = json_value<T>(*it, name);
}

}  // namespace cnnzoo::trainer
