#pragma once
// ONNX export: a model's inference graph (opset 17) with its weights, runnable by any ONNX runtime.
//
//   const auto bytes = cnnzoo::io::export_onnx<cnnzoo::models::resnet18>(params, state, meta);
//
// How: the network runs one inference pass on `onnx_recorder`, an execution policy whose ops
// compute nothing and record what they would compute as ONNX nodes. So the graph is, op by op,
// the pass every other policy computes, and every layer of the zoo exports without code of its
// own: a layer is made of the contract's ops (ops/policy.hpp), and the recorder implements every
// op an inference pass uses. A layer that needed an op the recorder lacks would not compile
// (network<>'s "cnnzoo: the execution policy lacks ..." assertions); the training ops (backward
// passes, masks, loss, update) throw if an inference pass ever reached them.
//
// Choices: BatchNorm is exported as BatchNormalization (not folded), so the file holds the
// network's own tensors under their cnnzoo names (initializers named as in the tensor table);
// average pooling excludes padding (count_include_pad = 0), as cnnzoo's does; the input is
// "input", (N, 3, 32, 32) floats normalized as in training, the output "logits", (N, 10).
// metadata_props record the model, the per-channel mean and standard deviation on the 0-255
// pixel scale that turn an image into the input ((pixel - mean) / std), and the class names.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/version.hpp"
#include "../graph/network.hpp"
#include "onnx_proto.hpp"

namespace cnnzoo::io {

// A pass the recorder cannot express (a layer writing memory in a pattern ONNX has no node for).
class onnx_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

struct onnx_metadata {
  std::string model;
  std::vector<float> mean_255, std_255;  // per channel, on the 0-255 pixel scale
  std::vector<std::string> classes;
};

// An exported model: the protobuf, and the weights' bytes when they are stored beside it.
struct onnx_files {
  std::vector<std::uint8_t> model;
  std::vector<std::uint8_t> external_data;  // empty: every weight is inside the model
};

namespace detail {

// The graph under construction: values by the address the network keeps them at.
class onnx_graph {
public:
  using dims_t = std::vector<std::int64_t>;  // per image (the batch dimension is implicit)
  // A value of the graph: `batch` rows per exported image, as a part that runs its body on
  // several stacks of rows (CBAM's shared MLP on the average- and max-pooled rows) keeps them.
  struct value {
    std::string name;
    dims_t dims;
    int batch = 1;
    std::size_t count() const {  // per row
      std::size_t c = 1;
      for (auto d : dims) c *= static_cast<std::size_t>(d);
      return c;
    }
    std::size_t total() const { return count() * static_cast<std::size_t>(batch); }
    value like(std::string n) const { return {std::move(n), dims, batch}; }
  };

  void begin(const float* input, shape in, const float* params, const float* state,
             const std::vector<tensor_entry>& table) {
    params_ = params;
    state_ = state;
    for (const auto& e : table) (e.is_state ? state_names_ : param_names_)[e.offset] = e.path;
    values_[input] = {"input", {in.c, in.h, in.w}, 1};
    input_dims_ = {in.c, in.h, in.w};
  }

  // ---- reading and writing activations -----------------------------------------------------------
  // The value at p of `count` numbers (for the pass's one exported image): a whole value, the rows
  // of consecutive values stacked (Concat on the batch axis), one stack of a stacked value (Split),
  // or a block of a value's channels (Slice).
  value read(const float* p, std::size_t count) {
    finish_assembly_covering(p);
    auto it = values_.upper_bound(p);
    if (it == values_.begin()) throw unknown(p);
    --it;
    const float* start = it->first;
    const value& v = it->second;
    if (p == start && count == v.total()) return v;
    const std::size_t off = static_cast<std::size_t>(p - start);
    if (p == start && v.batch == 1 && count > v.total() && count % v.total() == 0) {
      const std::size_t k = count / v.total();
      std::vector<std::string> rows;
      for (std::size_t i = 0; i < k; ++i) {
        const auto r = values_.find(start + i * v.total());
        if (r == values_.end() || r->second.dims != v.dims || r->second.batch != 1) throw unknown(p);
        rows.push_back(r->second.name);
      }
      value stacked{op("Concat", rows, {onnx::attribute::of("axis", std::int64_t{0})}), v.dims, static_cast<int>(k)};
      return stacked;
    }
    if (v.batch > 1 && count == v.count() && off % v.count() == 0 && off < v.total()) {
      const auto parts = op_outputs("Split", {v.name}, static_cast<std::size_t>(v.batch),
                                    {onnx::attribute::of("axis", std::int64_t{0})});
      return {parts[off / v.count()], v.dims, 1};
    }
    const std::size_t plane = v.count() / static_cast<std::size_t>(v.dims[0]);
    if (v.batch != 1 || off + count > v.count() || off % plane || count % plane) throw unknown(p);
    dims_t dims = v.dims;
    dims[0] = static_cast<std::int64_t>(count / plane);
    const auto first = static_cast<std::int64_t>(off / plane);
    return {slice(v.name, first, first + dims[0]), dims, 1};
  }
  void write(float* p, value v) {
    assemblies_.erase(p);
    values_.erase(values_.lower_bound(p), values_.lower_bound(p + v.total()));
    values_[p] = std::move(v);
  }

  // dst[:, off : off + count] (+)= v, dst having `channels` channels of v's plane shape.
  void place(float* dst, int channels, int off, const value& v, bool accumulate) {
    assembly& a = assembly_at(dst, channels, v.dims);
    const int count = static_cast<int>(v.dims[0]);
    split_at(a, off);
    split_at(a, off + count);
    if (!accumulate) {
      a.pieces.erase(a.pieces.lower_bound(off), a.pieces.lower_bound(off + count));
      a.pieces[off] = {count, v.name};
      return;
    }
    // Accumulate into exactly [off, off + count): join the pieces there, then add.
    std::vector<std::string> parts;
    int covered = off;
    for (auto it = a.pieces.lower_bound(off); it != a.pieces.end() && it->first < off + count; ++it) {
      if (it->first != covered) throw onnx_error("cnnzoo: ONNX export: channels added to before they were written");
      parts.push_back(it->second.second);
      covered += it->second.first;
    }
    if (covered != off + count) throw onnx_error("cnnzoo: ONNX export: channels added to before they were written");
    const std::string existing = parts.size() == 1 ? parts[0] : op("Concat", parts, {onnx::attribute::of("axis", std::int64_t{1})});
    a.pieces.erase(a.pieces.lower_bound(off), a.pieces.lower_bound(off + count));
    a.pieces[off] = {count, op("Add", {existing, v.name})};
  }

  // ---- nodes and constants ---------------------------------------------------------------------------
  std::string op(const std::string& type, const std::vector<std::string>& inputs,
                 const std::vector<onnx::attribute>& attributes = {}) {
    return op_outputs(type, inputs, 1, attributes)[0];
  }
  std::vector<std::string> op_outputs(const std::string& type, const std::vector<std::string>& inputs,
                                      std::size_t outputs, const std::vector<onnx::attribute>& attributes = {}) {
    const std::string base = type + "_" + std::to_string(nodes_.size());
    std::vector<std::string> names;
    for (std::size_t i = 0; i < outputs; ++i) names.push_back(outputs == 1 ? base : base + "_" + std::to_string(i));
    nodes_.push_back(onnx::node(type, inputs, names, attributes));
    return names;
  }
  // A parameter or statistic at p (in the network's buffers), with these dims.
  std::string weight(const float* p, const dims_t& dims) {
    if (auto it = weight_names_.find(p); it != weight_names_.end()) return it->second;
    std::string name;
    const auto lookup = [&](const float* base, const std::map<std::size_t, std::string>& names) {
      if (!base || p < base) return false;
      const auto it = names.find(static_cast<std::size_t>(p - base));
      if (it == names.end()) return false;
      name = it->second;
      return true;
    };
    if (!lookup(params_, param_names_) && !lookup(state_, state_names_))
      name = "weight_" + std::to_string(weight_names_.size());
    std::size_t count = 1;
    for (auto d : dims) count *= static_cast<std::size_t>(d);
    weights_.push_back({name, dims, p, count});
    weight_names_[p] = name;
    return name;
  }
  std::string scalar(float v) {
    const std::string name = "const_" + std::to_string(initializers_.size());
    initializers_.push_back(onnx::tensor(name, {}, onnx::tensor_float, {reinterpret_cast<const std::uint8_t*>(&v), 4}));
    return name;
  }
  std::string ints(const std::vector<std::int64_t>& v) {
    const std::string name = "shape_" + std::to_string(initializers_.size());
    initializers_.push_back(onnx::tensor(name, {static_cast<std::int64_t>(v.size())}, onnx::tensor_int64,
                                         {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * 8}));
    return name;
  }
  // x reshaped to (N, dims...).
  std::string reshape(const std::string& x, const dims_t& dims) {
    dims_t full{0};
    full.insert(full.end(), dims.begin(), dims.end());
    return op("Reshape", {x, ints(full)});
  }
  // x (N, C, ...) with `before` and `after` channels of `value` added around its own.
  std::string pad_channels(const std::string& x, std::size_t rank_per_image, int before, int after, float value) {
    dims_t pads(2 * (rank_per_image + 1), 0);
    pads[1] = before;
    pads[rank_per_image + 2] = after;
    return op("Pad", {x, ints(pads), scalar(value)});
  }
  // fill(): the region's values until channel blocks are written into it.
  void fill(float* p, std::size_t count, float value) {
    assemblies_.erase(p);
    values_.erase(values_.lower_bound(p), values_.lower_bound(p + count));
    fills_[p] = {value, count};
  }
  std::string slice(const std::string& x, std::int64_t first, std::int64_t last) {
    return op("Slice", {x, ints({first}), ints({last}), ints({1})});
  }

  // The model file, and (for weights over `inline_limit` bytes in all) the external data file
  // `external_name` that the model names for them, as ONNX stores models over protobuf's 2 GB.
  onnx_files finish(const float* logits, int classes, const onnx_metadata& meta, const std::string& external_name,
                    std::uint64_t inline_limit) {
    value out = read(logits, static_cast<std::size_t>(classes));
    if (out.dims.size() > 1)  // a network that ends in a global pool: (N, classes, 1, 1)
      out.name = op("Flatten", {out.name}, {onnx::attribute::of("axis", std::int64_t{1})});
    onnx_files files;
    std::uint64_t total = 0;
    for (const auto& w : weights_) total += w.count * sizeof(float);
    const bool external = total > inline_limit;
    for (const auto& w : weights_) {
      const std::span<const std::uint8_t> bytes{reinterpret_cast<const std::uint8_t*>(w.data), w.count * sizeof(float)};
      if (!external) {
        initializers_.push_back(onnx::tensor(w.name, w.dims, onnx::tensor_float, bytes));
        continue;
      }
      const std::uint64_t at = files.external_data.size();
      files.external_data.insert(files.external_data.end(), bytes.begin(), bytes.end());
      initializers_.push_back(onnx::external_tensor(w.name, w.dims, onnx::tensor_float, external_name, at, bytes.size()));
    }
    nodes_.push_back(onnx::node("Identity", {out.name}, {"logits"}, {}));
    onnx::message graph;
    for (const auto& n : nodes_) graph.sub(onnx::field::graph_node, n);
    graph.string(onnx::field::graph_name, meta.model.empty() ? "cnnzoo" : meta.model);
    for (const auto& t : initializers_) graph.sub(onnx::field::graph_initializer, t);
    dims_t in{-1};
    in.insert(in.end(), input_dims_.begin(), input_dims_.end());
    graph.sub(onnx::field::graph_input, onnx::value_info("input", in));
    graph.sub(onnx::field::graph_output, onnx::value_info("logits", {-1, classes}));
    onnx::message opset;
    opset.string(onnx::field::opset_domain, "").signed_varint(onnx::field::opset_version, 17);
    onnx::message model;
    model.signed_varint(onnx::field::model_ir_version, 8)
        .string(onnx::field::model_producer_name, "cnnzoo")
        .string(onnx::field::model_producer_version, std::string(version))
        .sub(onnx::field::model_graph, graph)
        .sub(onnx::field::model_opset_import, opset);
    const auto joined = [](const auto& items) {
      std::string s;
      for (const auto& x : items) {
        if (!s.empty()) s += ",";
        if constexpr (std::is_arithmetic_v<std::decay_t<decltype(x)>>) s += std::to_string(x);
        else s += x;
      }
      return s;
    };
    const auto meta_entry = [&](std::string_view k, const std::string& v) {
      if (!v.empty()) model.sub(onnx::field::model_metadata_props, onnx::string_entry(k, v));
    };
    meta_entry("cnnzoo.model", meta.model);
    meta_entry("cnnzoo.input", "(N, 3, 32, 32) float: (pixel - mean) / std per RGB channel, pixels 0-255");
    meta_entry("cnnzoo.mean_255", joined(meta.mean_255));
    meta_entry("cnnzoo.std_255", joined(meta.std_255));
    meta_entry("cnnzoo.classes", joined(meta.classes));
    files.model = model.data();
    return files;
  }

private:
  struct assembly {
    int channels = 0;
    dims_t dims;                                          // of the whole destination
    std::map<int, std::pair<int, std::string>> pieces;    // first channel -> (count, value)
    std::optional<float> background;                      // fill()'s value for channels no piece covers
    std::size_t count_all() const {
      std::size_t c = 1;
      for (auto d : dims) c *= static_cast<std::size_t>(d);
      return c;
    }
  };

  onnx_error unknown(const float* p) const {
    (void)p;
    return onnx_error("cnnzoo: ONNX export: an op read memory that no earlier op of the pass wrote as a "
                      "whole value or a block of its channels");
  }
  assembly& assembly_at(float* dst, int channels, const dims_t& plane_dims) {
    if (auto it = assemblies_.find(dst); it != assemblies_.end()) return it->second;
    assembly a;
    a.channels = channels;
    a.dims = plane_dims;
    a.dims[0] = channels;
    if (auto f = fills_.find(dst); f != fills_.end()) {
      if (f->second.second != a.count_all())
        throw onnx_error("cnnzoo: ONNX export: a fill covers " + std::to_string(f->second.second) +
                         " values, the channel blocks written into it " + std::to_string(a.count_all()));
      a.background = f->second.first;
      fills_.erase(f);
    }
    if (auto v = values_.find(dst); v != values_.end() && v->second.count() == a.count_all()) {
      a.pieces[0] = {channels, v->second.name};  // a whole value, now written to block by block
      values_.erase(v);
    }
    return assemblies_[dst] = std::move(a);
  }
  // Splits the piece that straddles channel `at`, so that a piece starts there.
  void split_at(assembly& a, int at) {
    if (at <= 0 || at >= a.channels) return;
    auto it = a.pieces.upper_bound(at);
    if (it == a.pieces.begin()) return;
    --it;
    const int first = it->first, count = it->second.first;
    if (first == at || first + count <= at) return;
    const std::string name = it->second.second;
    it->second = {at - first, slice(name, 0, at - first)};
    a.pieces[at] = {first + count - at, slice(name, at - first, count)};
  }
  void finish_assembly_covering(const float* p) {
    for (auto it = assemblies_.begin(); it != assemblies_.end(); ++it) {
      const float* start = it->first;
      if (p < start || p >= start + it->second.count_all()) continue;
      assembly a = std::move(it->second);
      assemblies_.erase(it);
      // Pieces in channel order; a gap takes the fill's value, as padding of the piece after it
      // (or, at the end, of the piece before it).
      std::vector<std::string> parts;
      int covered = 0;
      int gap_before = 0;
      for (const auto& [first, piece] : a.pieces) {
        if (first < covered) throw onnx_error("cnnzoo: ONNX export: overlapping channel blocks");
        gap_before = first - covered;
        if (gap_before > 0 && !a.background) break;
        parts.push_back(gap_before > 0 ? pad_channels(piece.second, a.dims.size(), gap_before, 0, *a.background)
                                       : piece.second);
        covered = first + piece.first;
        gap_before = 0;
      }
      if (covered < a.channels && a.background && !parts.empty()) {
        parts.back() = pad_channels(parts.back(), a.dims.size(), 0, a.channels - covered, *a.background);
        covered = a.channels;
      }
      if (covered != a.channels || gap_before > 0)
        throw onnx_error("cnnzoo: ONNX export: channels " + std::to_string(covered) + " of " +
                         std::to_string(a.channels) + " of a concatenation were read before they were written");
      const std::string name = parts.size() == 1 ? parts[0] : op("Concat", parts, {onnx::attribute::of("axis", std::int64_t{1})});
      values_[const_cast<float*>(start)] = {name, a.dims, 1};
      return;
    }
  }

  struct pending_weight {
    std::string name;
    dims_t dims;
    const float* data;
    std::size_t count;
  };
  std::vector<pending_weight> weights_;
  const float* params_ = nullptr;
  const float* state_ = nullptr;
  std::map<std::size_t, std::string> param_names_, state_names_;
  std::map<const float*, std::string> weight_names_;
  std::map<const float*, value> values_;
  std::map<float*, assembly> assemblies_;
  std::map<float*, std::pair<float, std::size_t>> fills_;
  std::vector<onnx::message> nodes_, initializers_;
  dims_t input_dims_;
};

}  // namespace detail

// The recording policy. Buffers are host memory, so the network uploads its weights as usual and
// the recorder takes initializers from them; the graph is shared by copies of the policy.
class onnx_recorder {
public:
  using value_type = float;
  using weight_type = float;
  using T = float;
  using W = float;
  static constexpr std::string_view name = "onnx";
  template <class U> using buffer = std::vector<U>;
  using value = detail::onnx_graph::value;
  using dims_t = detail::onnx_graph::dims_t;

  detail::onnx_graph& graph() const { return *graph_; }

  // ---- memory ------------------------------------------------------------------------------------
  template <class U> buffer<U> allocate(std::size_t n) const { return buffer<U>(n); }
  template <class U> void upload(U* dst, const U* src, std::size_t n) const { std::copy_n(src, n, dst); }
  template <class U> void download(U* dst, const U* src, std::size_t n) const { std::copy_n(src, n, dst); }
  void synchronize() const {}
  void bind_parameters(W*, W*, std::size_t) {}

  // ---- the inference ops ---------------------------------------------------------------------------
  void conv2d_forward(const ops::conv_geometry& g, const T* x, const W* w, const W* b, T* y) const {
    const value in = g_().read(x, static_cast<std::size_t>(g.n) * g.c * g.h * g.w);
    expect(in, {g.c, g.h, g.w}, g.n, "Conv");
    std::vector<std::string> inputs{in.name, g_().weight(w, {g.k, g.c / g.groups, g.kh, g.kw})};
    if (b) inputs.push_back(g_().weight(b, {g.k}));
    using A = onnx::attribute;
    const std::string out = g_().op("Conv", inputs,
                                    {A::of("kernel_shape", dims_t{g.kh, g.kw}), A::of("strides", dims_t{g.sh, g.sw}),
                                     A::of("pads", dims_t{g.ph, g.pw, g.ph, g.pw}),
                                     A::of("dilations", dims_t{g.dh, g.dw}), A::of("group", std::int64_t{g.groups})});
    g_().write(y, {out, {g.k, g.oh, g.ow}, in.batch});
  }
  void batch_norm_forward(const ops::batch_norm_geometry& g, bool training, const T* x, const W* gamma, const W* beta,
                          W* mean, W* var, W*, W*, T* y) const {
    if (training) throw not_inference("BatchNorm in training mode");
    const value in = g_().read(x, static_cast<std::size_t>(g.n) * g.c * g.hw);
    const dims_t c{g.c};
    const std::string out = g_().op("BatchNormalization",
                                    {in.name, g_().weight(gamma, c), g_().weight(beta, c), g_().weight(mean, c),
                                     g_().weight(var, c)},
                                    {onnx::attribute::of("epsilon", static_cast<float>(g.eps))});
    g_().write(y, in.like(out));
  }
  void activation_forward(ops::activation a, std::size_t n, const T* x, T* y) const {
    const value in = g_().read(x, n);
    using ops::activation;
    std::string out;
    switch (a) {
      case activation::identity: out = in.name; break;
      case activation::relu: out = g_().op("Relu", {in.name}); break;
      case activation::relu6: out = g_().op("Clip", {in.name, g_().scalar(0), g_().scalar(6)}); break;
      case activation::sigmoid: out = g_().op("Sigmoid", {in.name}); break;
      case activation::hard_sigmoid:  // relu6(x + 3) / 6 = max(0, min(1, x / 6 + 1 / 2))
        out = g_().op("HardSigmoid", {in.name}, {onnx::attribute::of("alpha", 1.0f / 6), onnx::attribute::of("beta", 0.5f)});
        break;
      case activation::swish: out = g_().op("Mul", {in.name, g_().op("Sigmoid", {in.name})}); break;
      case activation::hard_swish: out = g_().op("HardSwish", {in.name}); break;
    }
    g_().write(y, in.like(out));
  }
  void pool_forward(ops::pool_kind k, const ops::pool_geometry& g, const T* x, T* y) const {
    const value in = g_().read(x, static_cast<std::size_t>(g.n) * g.c * g.h * g.w);
    expect(in, {g.c, g.h, g.w}, g.n, "a pool");
    using A = onnx::attribute;
    std::vector<A> attrs{A::of("kernel_shape", dims_t{g.kh, g.kw}), A::of("strides", dims_t{g.sh, g.sw}),
                         A::of("pads", dims_t{g.ph, g.pw, g.ph, g.pw})};
    // cnnzoo states the output extents; ONNX derives them, rounding down unless ceil_mode.
    const auto floor_extent = [](int size, int k, int s, int p) { return (size + 2 * p - k) / s + 1; };
    const auto ceil_extent = [](int size, int k, int s, int p) { return (size + 2 * p - k + s - 1) / s + 1; };
    if (floor_extent(g.h, g.kh, g.sh, g.ph) != g.oh || floor_extent(g.w, g.kw, g.sw, g.pw) != g.ow) {
      if (ceil_extent(g.h, g.kh, g.sh, g.ph) != g.oh || ceil_extent(g.w, g.kw, g.sw, g.pw) != g.ow)
        throw onnx_error("cnnzoo: ONNX export: a pool's output extent is neither ONNX's floor nor its ceil rule");
      attrs.push_back(A::of("ceil_mode", std::int64_t{1}));
    }
    if (k == ops::pool_kind::avg) attrs.push_back(A::of("count_include_pad", std::int64_t{0}));
    const std::string out = g_().op(k == ops::pool_kind::max ? "MaxPool" : "AveragePool", {in.name}, attrs);
    g_().write(y, {out, {g.c, g.oh, g.ow}, in.batch});
  }
  void global_pool_forward(ops::pool_kind k, int n, int c, int hw, const T* x, T* y) const {
    const value in = g_().read(x, static_cast<std::size_t>(n) * c * hw);
    const std::string out = g_().op(k == ops::pool_kind::max ? "GlobalMaxPool" : "GlobalAveragePool", {in.name});
    g_().write(y, {out, {c, 1, 1}, in.batch});
  }
  void dense_forward(int n, int in, int out, const T* x, const W* w, const W* b, T* y) const {
    const value v = g_().read(x, static_cast<std::size_t>(n) * in);
    const std::string flat = v.dims.size() == 1 ? v.name : g_().op("Flatten", {v.name}, {onnx::attribute::of("axis", std::int64_t{1})});
    std::vector<std::string> inputs{flat, g_().weight(w, {out, in})};
    if (b) inputs.push_back(g_().weight(b, {out}));
    g_().write(y, {g_().op("Gemm", inputs, {onnx::attribute::of("transB", std::int64_t{1})}), {out}, v.batch});
  }
  void flatten_forward(int n, int c, int hw, const T* x, T* y) const {
    const value v = g_().read(x, static_cast<std::size_t>(n) * c * hw);
    g_().write(y, {g_().op("Flatten", {v.name}, {onnx::attribute::of("axis", std::int64_t{1})}), {c * hw}, v.batch});
  }
  void copy(std::size_t n, const T* x, T* y) const { g_().write(y, g_().read(x, n)); }
  // Only as the background of channel blocks written next (zero_pad_channels): a Pad when read.
  void fill(std::size_t n, T v, T* y) const { g_().fill(y, n, v); }
  void add(std::size_t n, const T* a, const T* b, T* y) const {
    const value va = g_().read(a, n), vb = g_().read(b, n);
    g_().write(y, va.like(g_().op("Add", {va.name, vb.name})));
  }
  void axpby(std::size_t n, T alpha, const T* x, T beta, T* y) const {
    const value vx = g_().read(x, n);
    const std::string ax = alpha == T(1) ? vx.name : g_().op("Mul", {vx.name, g_().scalar(alpha)});
    if (beta == T(0)) return g_().write(y, vx.like(ax));
    const value vy = g_().read(y, n);
    const std::string by = beta == T(1) ? vy.name : g_().op("Mul", {vy.name, g_().scalar(beta)});
    g_().write(y, vx.like(g_().op("Add", {by, ax})));
  }
  void multiply(std::size_t n, const T* x, const T* m, T* y) const {
    const value vx = g_().read(x, n), vm = g_().read(m, n);
    g_().write(y, vx.like(g_().op("Mul", {vx.name, vm.name})));
  }
  void copy_channels(const ops::channel_copy& b, const T* src, T* dst, bool accumulate) const {
    if (b.n != 1) throw onnx_error("cnnzoo: ONNX export: channel blocks of stacked rows are not supported");
    const value whole = g_().read(src, static_cast<std::size_t>(b.src_c) * b.hw);
    value part = whole;
    if (b.src_off != 0 || b.count != b.src_c) {
      part.name = g_().slice(whole.name, b.src_off, b.src_off + b.count);
      part.dims[0] = b.count;
    }
    g_().place(dst, b.dst_c, b.dst_off, part, accumulate);
  }
  void shuffle_channels(int n, int c, int hw, int groups, const T* x, T* y) const {
    const value v = g_().read(x, static_cast<std::size_t>(n) * c * hw);
    dims_t split{groups, c / groups};
    split.insert(split.end(), v.dims.begin() + 1, v.dims.end());
    dims_t perm{0, 2, 1};
    for (std::size_t i = 3; i <= split.size(); ++i) perm.push_back(static_cast<std::int64_t>(i));
    const std::string t = g_().op("Transpose", {g_().reshape(v.name, split)}, {onnx::attribute::of("perm", perm)});
    g_().write(y, v.like(g_().reshape(t, v.dims)));
  }
  void scale_channels_forward(int n, int c, int hw, const T* x, const T* s, T* y) const {
    const auto rows = static_cast<std::size_t>(n);
    const value vx = g_().read(x, rows * c * hw), vs = g_().read(s, rows * c);
    dims_t broadcast(vx.dims.size(), 1);
    broadcast[0] = c;
    const std::string sb = vs.dims == broadcast ? vs.name : g_().reshape(vs.name, broadcast);
    g_().write(y, vx.like(g_().op("Mul", {vx.name, sb})));
  }
  void channel_pool_forward(ops::pool_kind k, int n, int c, int hw, const T* x, T* y) const {
    const value v = g_().read(x, static_cast<std::size_t>(n) * c * hw);
    dims_t dims = v.dims;
    dims[0] = 1;
    const std::string out = g_().op(k == ops::pool_kind::max ? "ReduceMax" : "ReduceMean", {v.name},
                                    {onnx::attribute::of("axes", dims_t{1}), onnx::attribute::of("keepdims", std::int64_t{1})});
    g_().write(y, {out, dims, v.batch});
  }
  void scale_spatial_forward(int n, int c, int hw, const T* x, const T* s, T* y) const {
    const auto rows = static_cast<std::size_t>(n);
    const value vx = g_().read(x, rows * c * hw), vs = g_().read(s, rows * hw);
    g_().write(y, vx.like(g_().op("Mul", {vx.name, vs.name})));
  }
  void softmax_forward(const ops::softmax_geometry& g, const T* x, T* y) const {
    const value v = g_().read(x, static_cast<std::size_t>(g.n) * g.groups * g.c * g.hw);
    const std::string grouped = g_().reshape(v.name, {g.groups, g.c, g.hw});
    const std::int64_t axis = g.over == ops::softmax_over::channels ? 2 : 1;
    const std::string out = g_().op("Softmax", {grouped}, {onnx::attribute::of("axis", axis)});
    g_().write(y, v.like(g_().reshape(out, v.dims)));
  }

  // ---- what an inference pass never asks for ----------------------------------------------------------
  void conv2d_backward(const ops::conv_geometry&, const T*, const W*, const T*, T*, W*, W*) const { throw not_inference("conv2d_backward"); }
  void batch_norm_backward(const ops::batch_norm_geometry&, bool, const T*, const W*, const W*, const W*, const T*, T*,
                           W*, W*) const { throw not_inference("batch_norm_backward"); }
  void activation_backward(ops::activation, std::size_t, const T*, const T*, const T*, T*) const { throw not_inference("activation_backward"); }
  void pool_backward(ops::pool_kind, const ops::pool_geometry&, const T*, const T*, T*) const { throw not_inference("pool_backward"); }
  void global_pool_backward(ops::pool_kind, int, int, int, const T*, const T*, T*) const { throw not_inference("global_pool_backward"); }
  void dense_backward(int, int, int, const T*, const W*, const T*, T*, W*, W*) const { throw not_inference("dense_backward"); }
  void flatten_backward(int, int, int, const T*, T*) const { throw not_inference("flatten_backward"); }
  void dropout_forward(std::size_t, float, std::uint64_t, const T*, T*, T*) const { throw not_inference("dropout in training mode"); }
  void bernoulli_mask(std::size_t, float, bool, std::uint64_t, T*) const { throw not_inference("bernoulli_mask"); }
  void scale_channels_backward(int, int, int, const T*, const T*, const T*, T*, T*, bool) const { throw not_inference("scale_channels_backward"); }
  void render_batch(const ops::render_geometry&, int, const ops::image_recipe*, const std::uint8_t*, const float*, T*) const { throw not_inference("render_batch"); }
  void channel_pool_backward(ops::pool_kind, int, int, int, const T*, const T*, T*) const { throw not_inference("channel_pool_backward"); }
  void scale_spatial_backward(int, int, int, const T*, const T*, const T*, T*, T*, bool) const { throw not_inference("scale_spatial_backward"); }
  void softmax_backward(const ops::softmax_geometry&, const T*, const T*, T*) const { throw not_inference("softmax_backward"); }
  double softmax_cross_entropy(int, int, const T*, const T*, T*) const { throw not_inference("softmax_cross_entropy"); }
  double sum_of_squares(std::size_t, const W*) const { throw not_inference("sum_of_squares"); }
  void sgd_update(std::size_t, W*, const W*, W*, const W*, double, double, double, bool, double) const { throw not_inference("sgd_update"); }

private:
  detail::onnx_graph& g_() const { return *graph_; }
  // A value read for an op must have the shape the op's geometry states, or the file would be wrong.
  static void expect(const value& v, const dims_t& dims, int rows, const char* op) {
    if (v.dims != dims || v.batch != rows)
      throw onnx_error(std::string("cnnzoo: ONNX export: ") + op + " reads a value whose recorded shape is not its input's");
  }
  static std::logic_error not_inference(const std::string& op) {
    return std::logic_error("cnnzoo: ONNX export records an inference pass; " + op + " is not part of one");
  }
  std::shared_ptr<detail::onnx_graph> graph_ = std::make_shared<detail::onnx_graph>();
};

static_assert(ops::execution_policy<onnx_recorder>, "cnnzoo: the ONNX recorder must implement the whole op contract");

// The ONNX model of M with these weights (the network's flat parameter and state buffers). Weights
// over `inline_limit` bytes in all go to `external_name` (a file beside the model) instead.
inline constexpr std::uint64_t onnx_inline_limit = std::uint64_t{1} << 30;  // well under protobuf's 2 GB
template <model M>
onnx_files export_onnx(std::span<const float> params, std::span<const float> state, const onnx_metadata& meta,
                       const std::string& external_name = "weights.bin", std::uint64_t inline_limit = onnx_inline_limit) {
  network<M, onnx_recorder> net(1);
  net.upload_params(params);
  net.upload_state(state);
  net.set_training(false);
  net.policy().graph().begin(net.input(), model_input<M>, net.params(), net.state(), net.tensors());
  net.forward(1);
  return net.policy().graph().finish(net.logits(1), network<M, onnx_recorder>::classes, meta, external_name, inline_limit);
}

}  // namespace cnnzoo::io
