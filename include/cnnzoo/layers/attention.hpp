#pragma once
// Attention that rescales an activation by something computed from it.
//
//   gate<Body>          y = x * Body(x). Body maps (c, h, w) either to (c, 1, 1), a scale per
//                       channel (the policy's scale_channels_*), or to (1, h, w), a scale per
//                       pixel (scale_spatial_*), broadcast over the other axes.
//   twin_pool<Body>     y = Body(global_avg_pool(x)) + Body(global_max_pool(x)), one Body, one set
//                       of weights: both pooled vectors go through it as one stacked batch of
//                       2n, so its weight gradients sum both uses without extra buffers. (A
//                       BatchNorm inside Body would see both halves as one batch.)
//   cbam<cbam_args>     the Convolutional Block Attention Module (S. Woo, J. Park, J.-Y. Lee,
//                       I. S. Kweon, ECCV 2018): channel attention
//                         gate<twin_pool<dense(c / r, bias) - ReLU - dense(c, bias)>, sigmoid>
//                       then spatial attention
//                         gate<concat<channel_mean, channel_max>, conv k x k (2 -> 1, bias), sigmoid>
//                       as in the paper and the seed (r = 16, k = 7).
#include "../ops/geometry.hpp"
#include "../graph/concat.hpp"
#include "../graph/seq.hpp"
#include "activation.hpp"
#include "channel_pool.hpp"
#include "conv.hpp"
#include "dense.hpp"
#include "pool.hpp"

namespace cnnzoo {

template <class Body>
struct gate {
  template <shape In>
  struct bind : part_defaults {
    using body = bind_t<Body, In>;
    static constexpr bool per_channel = body::out == shape{In.c, 1, 1};
    static constexpr bool per_pixel = !per_channel && body::out == shape{1, In.h, In.w};
    static_assert(per_channel || per_pixel,
                  "cnnzoo: gate<Body> on a (c, h, w) input needs a Body whose output is (c, 1, 1) "
                  "(a scale per channel) or (1, h, w) (a scale per pixel)");
    static_assert(!body::passthrough, "cnnzoo: gate<identity> would square its input; give gate<> a Body that computes a scale");
    static constexpr shape in = In, out = In;
    static constexpr int hw = In.h * In.w;
    // act: the body's region (its output is the scale s), then y.
    static constexpr std::size_t out_at = body::size.act;
    static constexpr sizes size = body::size + sizes{0, 0, out.size(), 0};
    static constexpr std::size_t flops = body::flops + out.size();

    template <class P>
    static void scale(const pass<P>& ps, const value_t<P>* x, const value_t<P>* s, value_t<P>* y) {
      if constexpr (per_channel) ps.policy.scale_channels_forward(ps.n, In.c, hw, x, s, y);
      else ps.policy.scale_spatial_forward(ps.n, In.c, hw, x, s, y);
    }
    template <class P>
    static void scale_backward(const pass<P>& ps, const value_t<P>* x, const value_t<P>* s, const value_t<P>* dy,
                               value_t<P>* dx, value_t<P>* ds, bool accumulate) {
      if constexpr (per_channel) ps.policy.scale_channels_backward(ps.n, In.c, hw, x, s, dy, dx, ds, accumulate);
      else ps.policy.scale_spatial_backward(ps.n, In.c, hw, x, s, dy, dx, ds, accumulate);
    }

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      const std::size_t n = static_cast<std::size_t>(ps.n);
      body::template forward<P>(ps, at, x);
      scale(ps, x, output_of<body>(at, x, n), at.act + out_at * n);
    }
    // dx = dy * s + (the body's input gradient for ds = reduce(dy * x)); the body overwrites dx,
    // so the direct term is added after it.
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      const std::size_t n = static_cast<std::size_t>(ps.n);
      const value_t<P>* s = output_of<body>(at, x, n);
      value_t<P>* ds = output_grad_of<body>(at, n);
      scale_backward(ps, x, s, dy, nullptr, ds, false);
      body::template backward<P>(ps, at, x, ds, dx);
      if (dx) scale_backward(ps, x, s, dy, dx, nullptr, true);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({per_channel ? "channel_gate" : "spatial_gate", in, out, size, flops});
      body::describe(v);
      v.end();
    }
  };
};

template <class Body>
struct twin_pool {
  template <shape In>
  struct bind : part_defaults {
    static constexpr shape pooled{In.c, 1, 1};
    using body = bind_t<Body, pooled>;
    static constexpr shape in = In, out = body::out;
    static constexpr int hw = In.h * In.w;
    // act per image: the stacked pooled vectors (all n average rows, then all n max rows), the
    // body's region at batch 2n, y, and an input-sized buffer for the max half's gradient.
    static constexpr std::size_t stack = 2 * pooled.size();
    static constexpr std::size_t body_at = stack;
    static constexpr std::size_t out_at = body_at + 2 * body::size.act;
    static constexpr std::size_t tmp_at = out_at + out.size();
    static constexpr sizes size{body::size.params, body::size.state, tmp_at + In.size(), body::size.aux};
    static constexpr std::size_t flops = 2 * In.size() + 2 * body::flops + out.size();

    // The body runs on 2n rows: its per-image offsets are scaled by 2n inside its region.
    template <class P>
    static pass<P> twice(const pass<P>& ps) {
      pass<P> doubled = ps;
      doubled.n = 2 * ps.n;
      return doubled;
    }
    template <class P>
    static slot_t<P> body_slot(slot_t<P> at, std::size_t n) {
      return {at.params, at.grads, at.state, at.act + body_at * n, at.dact + body_at * n, at.aux};
    }

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      const std::size_t n = static_cast<std::size_t>(ps.n), half = n * out.size();
      value_t<P>* stacked = at.act;
      ps.policy.global_pool_forward(ops::pool_kind::avg, ps.n, In.c, hw, x, stacked);
      ps.policy.global_pool_forward(ops::pool_kind::max, ps.n, In.c, hw, x, stacked + n * pooled.size());
      const slot_t<P> b = body_slot<P>(at, n);
      body::template forward<P>(twice(ps), b, stacked);
      const value_t<P>* z = output_of<body>(b, stacked, 2 * n);
      ps.policy.add(half, z, z + half, at.act + out_at * n);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      using T = value_t<P>;
      const std::size_t n = static_cast<std::size_t>(ps.n), half = n * out.size();
      const slot_t<P> b = body_slot<P>(at, n);
      T* dz = output_grad_of<body>(b, 2 * n);
      ps.policy.copy(half, dy, dz);
      ps.policy.copy(half, dy, dz + half);
      T* dstacked = dx ? at.dact : nullptr;
      body::template backward<P>(twice(ps), b, at.act, dz, dstacked);
      if (!dx) return;
      T* tmp = at.dact + tmp_at * n;
      ps.policy.global_pool_backward(ops::pool_kind::avg, ps.n, In.c, hw, x, dstacked, dx);
      ps.policy.global_pool_backward(ops::pool_kind::max, ps.n, In.c, hw, x, dstacked + n * pooled.size(), tmp);
      ps.policy.axpby(n * In.size(), T(1), tmp, T(1), dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"twin_pool", in, out, size, flops});
      body::describe(v);
      v.end();
    }
  };
};

struct cbam_args {
  int reduction = 16;   // hidden width of the shared MLP: channels / reduction
  int kernel = 7;       // of the spatial attention's convolution
};

template <cbam_args A = cbam_args{}>
struct cbam {
  static_assert(A.reduction > 0 && A.kernel > 0 && A.kernel % 2 == 1,
                "cnnzoo: cbam needs a positive reduction and an odd spatial kernel");
  template <shape In>
  struct bind
      : seq<gate<seq<twin_pool<seq<dense<In.c / A.reduction>, relu, dense<In.c>>>, sigmoid>>,
            gate<seq<concat<channel_mean, channel_max>, conv<conv_args{.out = 1, .kernel = A.kernel, .bias = true}>,
                     sigmoid>>>::template bind<In> {
    static_assert(In.c / A.reduction > 0, "cnnzoo: cbam's hidden width is 0 (fewer channels than the reduction)");
    template <class V>
    static void describe(V& v) {
      v.begin({"cbam", In, bind::out, bind::size, bind::flops});
      bind::list::describe(v);
      v.end();
    }
  };
};

}  // namespace cnnzoo
