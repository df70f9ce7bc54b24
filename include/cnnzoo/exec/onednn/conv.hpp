#pragma once
#ifndef CNNZOO_ONEDNN_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/onednn/ are internal; include <cnnzoo/exec/onednn.hpp>"
#endif
// Convolutions through oneDNN's primitives: kernels generated at run time for the CPU found (AVX-512,
// AVX2, SSE4.1), working on blocked layouts (8 or 16 channels innermost) that keep the vector units
// fed without lowering the input to a matrix first.
//
// The policy's tensors stay NCHW, like the Eigen policy's, so every other op is shared with it.
// Each call therefore reorders its inputs into the layouts oneDNN chose for the primitive and the
// result back (the reorders are a few percent of the time; the convolution itself is 1.3x to 2.6x
// faster than im2col + GEMM on a CIFAR network here).
//
// Algorithm, by a fixed rule (never by timing, so a run repeats): Winograd F(4x4, 3x3) for a 3x3,
// stride-1, undilated, ungrouped convolution whose output is at least 8x8, where oneDNN has it for
// this CPU (AVX-512 cores); direct convolution otherwise, or when the policy is asked for direct
// convolutions only. Winograd does fewer multiplications and rounds differently: its results differ
// from the direct ones by about 1e-5 relative in fp32, the size of the differences between two
// summation orders (tests/exec/onednn.cpp bounds both against the fp64 reference).
//
// Primitives are built once per geometry and kept (a network has a few dozen distinct
// convolutions); the blocked copies and oneDNN's scratchpad live in buffers that grow to the largest
// layer and are reused, so a steady-state step allocates nothing here.
#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "../../ops/geometry.hpp"

namespace cnnzoo::exec::onednn_detail {

using dnnl::memory;
using tag = memory::format_tag;

// Which algorithms the policy may use.
enum class conv_algorithms {
  fastest,      // Winograd where the rule above allows it and the CPU has it, direct elsewhere
  direct_only,  // direct everywhere (the rounding closest to the reference's)
};

inline const dnnl::engine& cpu_engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// The instruction set oneDNN generates code for on this machine, for the programs' first line.
inline std::string isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "SSE4.1";
    case dnnl::cpu_isa::avx: return "AVX";
    case dnnl::cpu_isa::avx2: return "AVX2";
    case dnnl::cpu_isa::avx2_vnni: return "AVX2 (VNNI)";
    case dnnl::cpu_isa::avx512_core: return "AVX-512";
    case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512 (VNNI)";
    case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512 (BF16)";
    case dnnl::cpu_isa::avx512_core_amx: return "AVX-512 (AMX)";
    default: return "baseline x86-64";
  }
}

inline bool winograd_shape(const conv_geometry& g) {
  return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.groups == 1 && g.oh >= 8 &&
         g.ow >= 8;
}

// An activation oneDNN applies while the convolution writes its output (a post-op), where it has one
// that computes what exec/eigen/activation.hpp does; the others run as a pass after it.
struct eltwise_post {
  dnnl::algorithm alg;
  float alpha = 0, beta = 0;
};
inline std::optional<eltwise_post> eltwise_for(ops::activation a) {
  switch (a) {
    case ops::activation::relu: return eltwise_post{dnnl::algorithm::eltwise_relu, 0.0f, 0.0f};
    case ops::activation::relu6: return eltwise_post{dnnl::algorithm::eltwise_clip, 0.0f, 6.0f};
    case ops::activation::sigmoid: return eltwise_post{dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f};
    case ops::activation::swish: return eltwise_post{dnnl::algorithm::eltwise_swish, 1.0f, 0.0f};
    default: return std::nullopt;
  }
}

// The key of a built convolution: its geometry, whether a bias takes part, and the activation
// applied as a post-op (1 + its oneDNN algorithm code; 0: none).
struct conv_key {
  std::array<int, 16> v{};
  bool operator==(const conv_key&) const = default;
};
struct conv_key_hash {
  std::size_t operator()(const conv_key& k) const noexcept {
    std::size_t h = 1469598103934665603ull;
    for (int x : k.v) h = (h ^ static_cast<std::size_t>(static_cast<unsigned>(x))) * 1099511628211ull;
    return h;
  }
};
inline conv_key key_of(const conv_geometry& g, bool bias, int post) {
  return {{g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups, bias ? 1 : 0, post}};
}

// A reorder between two layouts, or nothing when they are the same.
inline std::optional<dnnl::reorder> reorder_between(const memory::desc& from, const memory::desc& to) {
  if (from == to) return std::nullopt;
  return dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), from, cpu_engine(), to));
}

// One convolution geometry's primitives. The backward ones are built on first use (inference never
// needs them; the first layer never needs the input gradient).
struct built_conv {
  dnnl::algorithm alg = dnnl::algorithm::convolution_direct;
  bool bias = false;
  memory::desc src, weights, dst, bias_md;   // the user's layouts: NCHW, OIHW (GOIHW with groups)
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  std::optional<dnnl::reorder> fwd_src_in, fwd_weights_in, fwd_dst_out;

  std::optional<dnnl::convolution_backward_data::primitive_desc> bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  std::optional<dnnl::reorder> bwd_data_diff_dst_in, bwd_data_weights_in, bwd_data_diff_src_out;

  std::optional<dnnl::convolution_backward_weights::primitive_desc> bwd_weights_pd;
  dnnl::convolution_backward_weights bwd_weights;
  std::optional<dnnl::reorder> bwd_weights_src_in, bwd_weights_diff_dst_in, bwd_weights_diff_weights_out;

  memory::dims strides, dilates, pad_l, pad_r;
};

class conv_engine {
public:
  explicit conv_engine(conv_algorithms choice) : choice_(choice), stream_(cpu_engine()) {}
  conv_engine(const conv_engine&) = delete;
  conv_engine& operator=(const conv_engine&) = delete;

  conv_algorithms choice() const noexcept { return choice_; }

  void forward(const conv_geometry& g, const float* x, const float* w, const float* b, float* y) {
    run_forward(get(g, b != nullptr, std::nullopt), g, x, w, b, y);
  }

  // An inference forward of the convolution followed by BatchNorm on the running statistics
  // (bg; gamma, beta, mean, var), folded in: the weights scaled and the bias shifted per output
  // channel, as exec/eigen/norm.hpp computes the affine map (scale gamma / sqrt(var + eps), shift
  // beta - scale mean, in double). `post`: an activation to apply as the output is written.
  void forward_norm_folded(const conv_geometry& g, const batch_norm_geometry& bg, const std::optional<eltwise_post>& post,
                           const float* x, const float* w, const float* b, const float* gamma, const float* beta,
                           const float* mean, const float* var, float* y) {
    built_conv& c = get(g, true, post);
    const std::size_t per_filter = static_cast<std::size_t>(g.c / g.groups) * static_cast<std::size_t>(g.kh * g.kw);
    const std::size_t filters = static_cast<std::size_t>(g.k);
    auto* folded = static_cast<float*>(buffer(slot::folded, (filters * per_filter + filters) * sizeof(float)));
    float* bias = folded + filters * per_filter;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < g.k; ++k) {
      const double invstd = 1.0 / std::sqrt(static_cast<double>(var[k]) + bg.eps);
      const auto scale = static_cast<float>(gamma[k] * invstd);
      const double shift = beta[k] - gamma[k] * mean[k] * invstd;
      const float* from = w + static_cast<std::size_t>(k) * per_filter;
      float* to = folded + static_cast<std::size_t>(k) * per_filter;
      for (std::size_t i = 0; i < per_filter; ++i) to[i] = from[i] * scale;
      bias[k] = static_cast<float>((b ? static_cast<double>(b[k]) * scale : 0.0) + shift);
    }
    run_forward(c, g, x, folded, bias, y);
  }

private:
  void run_forward(built_conv& c, const conv_geometry& g, const float* x, const float* w, const float* b, float* y) {
    memory src = input(c.fwd_pd.src_desc(), c.src, x, c.fwd_src_in, slot::src);
    memory wts = input(c.fwd_pd.weights_desc(), c.weights, w, c.fwd_weights_in, slot::weights);
    memory dst = output_memory(c.fwd_pd.dst_desc(), y, c.fwd_dst_out, slot::dst);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, dst},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(c.fwd_pd.scratchpad_desc())}};
    if (c.bias) args.emplace(DNNL_ARG_BIAS, memory(c.bias_md, cpu_engine(), const_cast<float*>(b)));
    run(c.fwd, args, g);
    output(dst, c.dst, y, c.fwd_dst_out);
  }

public:
  // dx (if non-null), dw and db (if non-null) are overwritten.
  void backward(const conv_geometry& g, const float* x, const float* w, const float* dy, float* dx, float* dw,
                float* db) {
    built_conv& c = get(g, db != nullptr, std::nullopt);
    std::optional<memory> blocked_dy;   // dy as the backward-data pass had it, reused when the layouts agree
    if (dx) {
      build_backward_data(c);
      const auto& pd = *c.bwd_data_pd;
      memory ddst = input(pd.diff_dst_desc(), c.dst, dy, c.bwd_data_diff_dst_in, slot::diff_dst);
      blocked_dy = ddst;
      memory wts = input(pd.weights_desc(), c.weights, w, c.bwd_data_weights_in, slot::weights);
      memory dsrc = output_memory(pd.diff_src_desc(), dx, c.bwd_data_diff_src_out, slot::diff_src);
      run(c.bwd_data,
          {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DIFF_SRC, dsrc},
           {DNNL_ARG_SCRATCHPAD, scratchpad(pd.scratchpad_desc())}},
          g);
      output(dsrc, c.src, dx, c.bwd_data_diff_src_out);
    }
    build_backward_weights(c);
    const auto& pd = *c.bwd_weights_pd;
    memory src = input(pd.src_desc(), c.src, x, c.bwd_weights_src_in, slot::src);
    memory ddst = blocked_dy && blocked_dy->get_desc() == pd.diff_dst_desc()
                      ? *blocked_dy
                      : input(pd.diff_dst_desc(), c.dst, dy, c.bwd_weights_diff_dst_in, slot::diff_dst);
    memory dwts = output_memory(pd.diff_weights_desc(), dw, c.bwd_weights_diff_weights_out, slot::weights);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dwts},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(pd.scratchpad_desc())}};
    if (c.bias) args.emplace(DNNL_ARG_DIFF_BIAS, memory(c.bias_md, cpu_engine(), db));
    run(c.bwd_weights, args, g);
    output(dwts, c.weights, dw, c.bwd_weights_diff_weights_out);
  }

  // The algorithm a geometry runs ("winograd" or "direct"), building it if needed; for tests and logs.
  const char* algorithm_for(const conv_geometry& g, bool bias) {
    return get(g, bias, std::nullopt).alg == dnnl::algorithm::convolution_winograd ? "winograd" : "direct";
  }

private:
  // The grow-only buffers blocked copies live in; one per role that can be live at once.
  enum slot : int { src, weights, dst, diff_dst, diff_src, scratch, folded, slot_count };

  void* buffer(slot s, std::size_t bytes) {
    auto& b = buffers_[s];
    if (b.size < bytes) {
      b.data.reset(static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{64})));
      b.size = bytes;
    }
    return b.data.get();
  }

  // `user` (layout `user_md`) as the primitive wants it: the user's memory itself when the layouts
  // agree, else a blocked copy in `s`.
  memory input(const memory::desc& want, const memory::desc& user_md, const float* user,
               const std::optional<dnnl::reorder>& r, slot s) {
    memory u(user_md, cpu_engine(), const_cast<float*>(user));
    if (!r) return u;
    memory m(want, cpu_engine(), buffer(s, want.get_size()));
    r->execute(stream_, u, m);
    return m;
  }
  // Where the primitive writes: the user's memory when the layouts agree, else a blocked buffer.
  memory output_memory(const memory::desc& have, float* user, const std::optional<dnnl::reorder>& r, slot s) {
    if (!r) return memory(have, cpu_engine(), user);
    return memory(have, cpu_engine(), buffer(s, have.get_size()));
  }
  void output(const memory& m, const memory::desc& user_md, float* user, const std::optional<dnnl::reorder>& r) {
    if (!r) return;
    memory u(user_md, cpu_engine(), user);
    r->execute(stream_, const_cast<memory&>(m), u);
  }
  memory scratchpad(const memory::desc& md) {
    return memory(md, cpu_engine(), md.get_size() ? buffer(slot::scratch, md.get_size()) : nullptr);
  }

  void run(const dnnl::primitive& p, const std::unordered_map<int, memory>& args, const conv_geometry& g) {
    try {
      p.execute(stream_, args);
      stream_.wait();
    } catch (const dnnl::error& e) {
      throw std::runtime_error(std::string("cnnzoo: oneDNN failed to run a ") + g.describe() + ": " + e.what());
    }
  }

  static dnnl::primitive_attr user_scratchpad() {
    dnnl::primitive_attr a;
    a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return a;
  }

  built_conv& get(const conv_geometry& g, bool bias, const std::optional<eltwise_post>& post) {
    const conv_key k = key_of(g, bias, post ? 1 + static_cast<int>(post->alg) : 0);
    if (auto it = built_.find(k); it != built_.end()) return it->second;
    try {
      return built_.emplace(k, build(g, bias, post)).first->second;
    } catch (const dnnl::error& e) {
      throw std::runtime_error(std::string("cnnzoo: oneDNN cannot build a ") + g.describe() + ": " + e.what());
    }
  }

  built_conv build(const conv_geometry& g, bool bias, const std::optional<eltwise_post>& post) const {
    built_conv c;
    c.bias = bias;
    const memory::dim groups = g.groups, cg = g.c / g.groups, kg = g.k / g.groups;
    c.src = memory::desc({g.n, g.c, g.h, g.w}, memory::data_type::f32, tag::nchw);
    c.dst = memory::desc({g.n, g.k, g.oh, g.ow}, memory::data_type::f32, tag::nchw);
    c.weights = groups == 1 ? memory::desc({g.k, g.c, g.kh, g.kw}, memory::data_type::f32, tag::oihw)
                            : memory::desc({groups, kg, cg, g.kh, g.kw}, memory::data_type::f32, tag::goihw);
    c.bias_md = bias ? memory::desc({g.k}, memory::data_type::f32, tag::x) : memory::desc();
    c.strides = {g.sh, g.sw};
    c.dilates = {g.dh - 1, g.dw - 1};   // oneDNN counts the gaps: 0 is an ordinary convolution
    c.pad_l = {g.ph, g.pw};
    c.pad_r = {(g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.ph, (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.pw};

    const bool try_winograd = choice_ == conv_algorithms::fastest && winograd_shape(g);
    for (const bool winograd : {true, false}) {
      if (winograd && !try_winograd) continue;
      c.alg = winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
      try {
        dnnl::primitive_attr attr = user_scratchpad();
        if (post) {
          dnnl::post_ops ops;
          ops.append_eltwise(1.0f, post->alg, post->alpha, post->beta);
          attr.set_post_ops(ops);
        }
        c.fwd_pd = dnnl::convolution_forward::primitive_desc(forward_desc(c), attr, cpu_engine());
        if (winograd) {   // Winograd only where all three passes have it, so that they agree
          build_backward_data(c);
          build_backward_weights(c);
        }
        break;
      } catch (const dnnl::error&) {
        if (!winograd) throw;
        c.bwd_data_pd.reset();
        c.bwd_weights_pd.reset();
      }
    }
    c.fwd = dnnl::convolution_forward(c.fwd_pd);
    c.fwd_src_in = reorder_between(c.src, c.fwd_pd.src_desc());
    c.fwd_weights_in = reorder_between(c.weights, c.fwd_pd.weights_desc());
    c.fwd_dst_out = reorder_between(c.fwd_pd.dst_desc(), c.dst);
    return c;
  }

  static memory::desc any(const memory::desc& d) {
    return memory::desc(d.dims(), memory::data_type::f32, tag::any);
  }
  static dnnl::convolution_forward::desc forward_desc(const built_conv& c) {
    return dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, c.alg, any(c.src), any(c.weights),
                                           c.bias_md, any(c.dst), c.strides, c.dilates, c.pad_l, c.pad_r);
  }

  static void build_backward_data(built_conv& c) {
    if (c.bwd_data_pd) return;
    const dnnl::convolution_backward_data::desc d(c.alg, any(c.src), any(c.weights), any(c.dst), c.strides, c.dilates,
                                                  c.pad_l, c.pad_r);
    c.bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(d, user_scratchpad(), cpu_engine(), c.fwd_pd);
    c.bwd_data = dnnl::convolution_backward_data(*c.bwd_data_pd);
    c.bwd_data_diff_dst_in = reorder_between(c.dst, c.bwd_data_pd->diff_dst_desc());
    c.bwd_data_weights_in = reorder_between(c.weights, c.bwd_data_pd->weights_desc());
    c.bwd_data_diff_src_out = reorder_between(c.bwd_data_pd->diff_src_desc(), c.src);
  }

  static void build_backward_weights(built_conv& c) {
    if (c.bwd_weights_pd) return;
    const dnnl::convolution_backward_weights::desc d(c.alg, any(c.src), any(c.weights), c.bias_md, any(c.dst),
                                                     c.strides, c.dilates, c.pad_l, c.pad_r);
    c.bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(d, user_scratchpad(), cpu_engine(), c.fwd_pd);
    c.bwd_weights = dnnl::convolution_backward_weights(*c.bwd_weights_pd);
    c.bwd_weights_src_in = reorder_between(c.src, c.bwd_weights_pd->src_desc());
    c.bwd_weights_diff_dst_in = reorder_between(c.dst, c.bwd_weights_pd->diff_dst_desc());
    c.bwd_weights_diff_weights_out = reorder_between(c.bwd_weights_pd->diff_weights_desc(), c.weights);
  }

  struct aligned_delete {
    void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
  };
  struct grow_buffer {
    std::unique_ptr<std::byte[], aligned_delete> data;
    std::size_t size = 0;
  };

  conv_algorithms choice_;
  dnnl::stream stream_;
  std::unordered_map<conv_key, built_conv, conv_key_hash> built_;
  std::array<grow_buffer, slot_count> buffers_;
};

}  // namespace cnnzoo::exec::onednn_detail
