#pragma once
// A network's weights as a safetensors file (io/safetensors.hpp): every parameter and BatchNorm
// statistic under its name in the network's tensor table (`cnnzoo-summary MODEL --tensors`), with
// its shape, and metadata naming the model and the cnnzoo version that wrote it.
//
//   cnnzoo::io::save_weights(net, "model.safetensors", {.model = "ResNet18"});
//   auto net = cnnzoo::io::load_network<cnnzoo::models::resnet18>("model.safetensors");
//
// Loading is strict: every tensor of the table must be in the file with its exact shape, and the
// file may hold nothing else; a refusal lists the missing and unexpected names, each with the
// closest name on the other side, and a shape or dtype that differs names its tensor. Values
// stored as F16 or BF16 are read exactly; F64 values are read through float (a double network
// loads them rounded to float precision).
#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cstdio>
#include <sstream>

#include "../core/version.hpp"
#include "../data/augment.hpp"
#include "../data/cifar10.hpp"
#include "../exec/eigen.hpp"
#include "../graph/network.hpp"
#include "safetensors.hpp"

namespace cnnzoo::io {

struct weights_options {
  std::string model;                          // metadata "model": the zoo's name, e.g. "ResNet18"
  stored_dtype dtype = stored_dtype::f32;     // F32, or F16 / BF16 for half-size files
};

inline std::vector<std::int64_t> shape_of(const tensor_info& t) {
  return {t.dims.begin(), t.dims.begin() + t.rank};
}

// A writer holding the tensors of `table` (values from the flat params and state buffers); the
// caller may add more tensors or metadata before saving.
inline safetensors_writer weights_writer(std::span<const tensor_entry> table, std::span<const float> params,
                                         std::span<const float> state, const weights_options& o = {}) {
  safetensors_writer w;
  w.set_metadata("format", "cnnzoo");
  w.set_metadata("cnnzoo_version", std::string(version));
  if (!o.model.empty()) w.set_metadata("model", o.model);
  for (const tensor_entry& e : table) {
    const auto& from = e.is_state ? state : params;
    if (e.offset + e.info.count() > from.size())
      throw weights_error("cnnzoo: tensor '" + e.path + "' lies past the end of the " +
                          (e.is_state ? "state" : "parameters") + " given to weights_writer");
    w.add(e.path, shape_of(e.info), from.subspan(e.offset, e.info.count()), o.dtype);
  }
  return w;
}

namespace detail {
// Edit distance, for "did you mean": small names, small lists.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}
inline std::string closest(std::string_view name, const std::vector<std::string>& among) {
  std::string best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& c : among)
    if (const std::size_t d = edit_distance(name, c); d < best_d) { best_d = d; best = c; }
  return best;
}
// "'a' (closest: 'b'), 'c' (closest: 'd') and 3 more"
inline std::string listed(const std::vector<std::string>& names, const std::vector<std::string>& other_side) {
  constexpr std::size_t shown = 5;
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i) {
    out += (i ? ", '" : "'") + names[i] + "'";
    if (!other_side.empty()) out += " (closest: '" + closest(names[i], other_side) + "')";
  }
  if (names.size() > shown) out += " and " + std::to_string(names.size() - shown) + " more";
  return out;
}
}  // namespace detail

// Reads `reader`'s tensors into flat params and state buffers laid out by `table`, refusing any
// difference. `expected_model`, when given, must equal the file's "model" metadata where it has one.
inline void read_weights(const safetensors_reader& reader, std::span<const tensor_entry> table, std::span<float> params,
                         std::span<float> state, std::string_view expected_model = {}) {
  const std::string file = reader.path().string();
  if (const std::string m = reader.metadata_or("model"); !expected_model.empty() && !m.empty() && m != expected_model)
    throw weights_error("cnnzoo: " + file + " holds weights of " + m + ", not " + std::string(expected_model));
  std::vector<std::string> wanted, missing, unexpected, stored;
  for (const tensor_entry& e : table) wanted.push_back(e.path);
  for (const auto& t : reader.tensors()) stored.push_back(t.name);
  for (const tensor_entry& e : table)
    if (!reader.find(e.path)) missing.push_back(e.path);
  std::vector<std::string> sorted_wanted = wanted;
  std::sort(sorted_wanted.begin(), sorted_wanted.end());
  for (const auto& s : stored)
    if (!std::binary_search(sorted_wanted.begin(), sorted_wanted.end(), s)) unexpected.push_back(s);
  if (!missing.empty() || !unexpected.empty()) {
    std::string what = "cnnzoo: " + file + " does not hold this network's tensors";
    if (!expected_model.empty()) what += " (" + std::string(expected_model) + ")";
    if (!missing.empty())
      what += "; missing " + std::to_string(missing.size()) + ": " + detail::listed(missing, unexpected);
    if (!unexpected.empty())
      what += "; unexpected " + std::to_string(unexpected.size()) + ": " + detail::listed(unexpected, missing);
    if (const std::string m = reader.metadata_or("model"); !m.empty()) what += " (the file says it holds " + m + ")";
    throw weights_error(what);
  }
  for (const tensor_entry& e : table) {
    const stored_tensor& t = reader.at(e.path);
    const auto want = shape_of(e.info);
    if (t.shape != want) {
      const auto text = [](const std::vector<std::int64_t>& s) {
        std::string r = "[";
        for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
        return r + "]";
      };
      throw weights_error("cnnzoo: " + file + ": tensor '" + e.path + "' has shape " + text(t.shape) +
                          ", this network's is " + text(want));
    }
    if (t.dtype == stored_dtype::i64)
      throw weights_error("cnnzoo: " + file + ": tensor '" + e.path + "' is I64; weights are F32, F16, BF16 or F64");
    auto& to = e.is_state ? state : params;
    if (e.offset + e.info.count() > to.size())
      throw weights_error("cnnzoo: tensor '" + e.path + "' lies past the end of the " +
                          (e.is_state ? "state" : "parameters") + " buffer given to read_weights");
    const std::vector<float> v = reader.read_floats(t);
    std::copy(v.begin(), v.end(), to.begin() + static_cast<std::ptrdiff_t>(e.offset));
  }
}

// ---- what turns an image into the network's input ------------------------------------------------
// Recorded beside the weights by cnnzoo-train, read by cnnzoo-predict and cnnzoo-export: metadata
// "input_mean" and "input_std" (per RGB channel, on the 0-1 pixel scale: input = (pixel / 255 -
// mean) / std) and "classes" (the names in label order, comma-separated).
struct input_convention {
  data::channel_statistics stats;
  std::vector<std::string> classes;
  std::vector<std::string> assumed;  // what the file did not say, and what is used instead
};

inline void write_input_convention(safetensors_writer& w, const data::channel_statistics& stats,
                                   const std::vector<std::string>& classes) {
  for (const auto& c : classes)
    if (c.empty() || c.find(',') != std::string::npos)
      throw weights_error("cnnzoo: class name '" + c + "' cannot be recorded: names are non-empty and comma-free");
  const auto numbers = [](const std::vector<float>& v) {
    std::string out;
    for (float x : v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.9g", out.empty() ? "" : ",", static_cast<double>(x));
      out += buf;
    }
    return out;
  };
  std::string names;
  for (const auto& c : classes) names += (names.empty() ? "" : ",") + c;
  w.set_metadata("input_mean", numbers(stats.mean));
  w.set_metadata("input_std", numbers(stats.std));
  w.set_metadata("classes", names);
}

// `classes`: how many the network has; a file naming another number is refused.
inline input_convention read_input_convention(const safetensors_reader& r, std::size_t classes = 10) {
  const std::string file = r.path().string();
  const auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
  };
  const auto three = [&](const std::string& key) {
    std::vector<float> v;
    for (const auto& item : split(r.metadata_or(key))) {
      std::size_t used = 0;
      float x = 0;
      try {
        x = std::stof(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || !std::isfinite(x) || (key == "input_std" && x <= 0))
        throw weights_error("cnnzoo: " + file + ": metadata " + key + " '" + r.metadata_or(key) +
                            "' is not a list of finite numbers" + (key == "input_std" ? " above 0" : ""));
      v.push_back(x);
    }
    if (v.size() != 3)
      throw weights_error("cnnzoo: " + file + ": metadata " + key + " needs 3 values (R, G, B), has '" +
                          r.metadata_or(key) + "'");
    return v;
  };
  input_convention c;
  if (r.metadata().count("input_mean") != r.metadata().count("input_std"))
    throw weights_error("cnnzoo: " + file + " records only one of input_mean and input_std");
  if (r.metadata().count("input_mean") && r.metadata().count("input_std")) {
    c.stats = {three("input_mean"), three("input_std")};
  } else {
    c.stats = data::cifar10_training_statistics();
    c.assumed.push_back(file + " does not record the statistics its images were normalized with; using "
                        "CIFAR-10's (mean 0.4914 0.4822 0.4465, std 0.2470 0.2435 0.2616)");
  }
  if (r.metadata().count("classes")) {
    c.classes = split(r.metadata_or("classes"));
    if (c.classes.size() != classes)
      throw weights_error("cnnzoo: " + file + ": metadata classes names " + std::to_string(c.classes.size()) +
                          " classes, the network has " + std::to_string(classes));
  } else {
    const auto& names = data::cifar10_default_class_names();
    c.classes.assign(names.begin(), names.end());
    c.assumed.push_back(file + " does not name its classes; using CIFAR-10's");
  }
  return c;
}

// ---- a network and a file ----------------------------------------------------------------------------
template <class Net>
safetensors_writer weights_writer(const Net& net, const weights_options& o = {}) {
  const auto p = net.download_params(), s = net.download_state();
  const std::vector<float> pf(p.begin(), p.end()), sf(s.begin(), s.end());
  return weights_writer(net.tensors(), pf, sf, o);
}

template <class Net>
void save_weights(const Net& net, const std::filesystem::path& path, const weights_options& o = {}) {
  weights_writer(net, o).save(path);
}

template <class Net>
void load_weights(Net& net, const std::filesystem::path& path, std::string_view expected_model = {}) {
  using W = typename Net::W;
  std::vector<float> p(Net::param_count()), s(Net::state_count());
  read_weights(safetensors_reader(path), net.tensors(), p, s, expected_model);
  net.upload_params(std::vector<W>(p.begin(), p.end()));
  net.upload_state(std::vector<W>(s.begin(), s.end()));
}

// A network of model M on policy P (the CPU by default), for up to `batch` images, with the
// weights of `path`; in evaluation mode, ready to classify.
template <model M, class P = exec::eigen<float>>
network<M, P> load_network(const std::filesystem::path& path, int batch = 1, P policy = P{}) {
  network<M, P> net(batch, 0, std::move(policy));
  load_weights(net, path);
  net.set_training(false);
  return net;
}

}  // namespace cnnzoo::io
