#pragma once
// cnnzoo-export's per-model exporters: one generated translation unit per row of zoo/models.tsv
// (export_entry.cpp.in) registers io::export_onnx<Model> under the row's name.
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <cnnzoo/io/onnx.hpp>

namespace cnnzoo::exporters {

using onnx_exporter = std::function<io::onnx_files(std::span<const float>, std::span<const float>,
                                                   const io::onnx_metadata&, const std::string&, std::uint64_t)>;

inline std::map<std::string, onnx_exporter>& onnx_exporters() {
  static std::map<std::string, onnx_exporter> all;
  return all;
}

struct registration {
  registration(const std::string& name, onnx_exporter e) { onnx_exporters()[name] = std::move(e); }
};

}  // namespace cnnzoo::exporters
