#pragma once
// Fully connected layers and flatten. A dense layer takes a flat (features, 1, 1) input, which
// `flatten` or a global pool produces; weights [out][in], He-normal, optional bias.
#include "../graph/part.hpp"

namespace cnnzoo {

// (c, h, w) -> (c*h*w, 1, 1), features in (c, h, w) order on every policy.
struct flatten {
  template <shape In>
  struct bind : part_defaults {
    static constexpr shape in = In, out{static_cast<int>(In.size()), 1, 1};
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = 0;
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.flatten_forward(ps.n, In.c, In.h * In.w, x, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P>, const value_t<P>*, const value_t<P>* dy, value_t<P>* dx) {
      if (dx) ps.policy.flatten_backward(ps.n, In.c, In.h * In.w, dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"flatten", in, out, size, flops});
      v.end();
    }
  };
};

template <int Out, bool Bias = true>
struct dense {
  static_assert(Out > 0, "cnnzoo: dense needs a positive number of outputs");
  template <shape In>
  struct bind : part_defaults {
    static_assert(In.h == 1 && In.w == 1,
                  "cnnzoo: dense expects a flat (features, 1, 1) input; put flatten or a global pool before it");
    static constexpr shape in = In, out{Out, 1, 1};
    static constexpr std::size_t weights = static_cast<std::size_t>(Out) * In.c;
    static constexpr sizes size{weights + (Bias ? Out : 0), 0, out.size(), 0};
    static constexpr std::size_t flops = 2 * weights;
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.dense_forward(ps.n, In.c, Out, x, at.params, Bias ? at.params + weights : nullptr, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      ps.policy.dense_backward(ps.n, In.c, Out, x, at.params, dy, dx, at.grads, Bias ? at.grads + weights : nullptr);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"dense", in, out, size, flops});
      v.param({"weight", {Out, In.c, 1, 1}, 2, init_kind::kernel, true});
      if constexpr (Bias) v.param({"bias", {Out, 1, 1, 1}, 1, init_kind::zeros, false});
      v.end();
    }
  };
};

}  // namespace cnnzoo
