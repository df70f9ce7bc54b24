#pragma once
// The zoo's models on the CPU policy in double precision, for the parity suite only (the zoo
// library itself binds float): one generated translation unit per row registers a factory here.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "zoo/registry.hpp"

namespace cnnzoo::parity {

using fp64_factory = std::function<std::unique_ptr<zoo::runner>(const zoo::runner_options&)>;

inline std::map<std::string, fp64_factory>& fp64_runners() {
  static std::map<std::string, fp64_factory> all;
  return all;
}

struct fp64_registration {
  fp64_registration(const std::string& name, fp64_factory make) { fp64_runners()[name] = std::move(make); }
};

}  // namespace cnnzoo::parity
