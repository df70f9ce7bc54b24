#pragma once
// Batch normalisation on 4-D (n, c, h, w) and flat (n, c, 1, 1) activations. Trainable gamma and
// beta; running mean and variance are state (counted in the Keras-style total). The defaults are
// PyTorch's (eps 1e-5, momentum 0.1), which the GPU peer uses; Keras' are eps 1e-3, 0.01.
#include "../ops/geometry.hpp"
#include "../graph/part.hpp"

namespace cnnzoo {

struct batch_norm_args {
  double eps = 1e-5;
  double momentum = 0.1;
};

template <batch_norm_args A = batch_norm_args{}>
struct batch_norm_t {
  static_assert(A.eps > 0 && A.momentum > 0 && A.momentum <= 1,
                "cnnzoo: batch_norm needs eps > 0 and 0 < momentum <= 1");
  template <shape In>
  struct bind : part_defaults {
    static constexpr shape in = In, out = In;
    static constexpr std::size_t c = static_cast<std::size_t>(In.c);
    // act: output; aux: batch mean and 1/std saved for the backward pass.
    static constexpr sizes size{2 * c, 2 * c, out.size(), 2 * c};
    static constexpr std::size_t flops = 2 * out.size();
    // For graph/fusion.hpp: in inference mode a per-channel affine map of the input, from gamma and
    // beta (params) and the running mean and variance (state).
    static constexpr bool inference_affine = true;

    static constexpr ops::batch_norm_geometry geometry(int n) noexcept {
      return {n, In.c, In.h * In.w, A.eps, A.momentum};
    }
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.batch_norm_forward(geometry(ps.n), ps.training, x, at.params, at.params + c, at.state,
                                   at.state + c, at.aux, at.aux + c, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      ps.policy.batch_norm_backward(geometry(ps.n), ps.training, x, at.params, at.aux, at.aux + c, dy, dx,
                                    at.grads, at.grads + c);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"batch_norm", in, out, size, flops});
      v.param({"gamma", {In.c, 1, 1, 1}, 1, init_kind::ones, false});
      v.param({"beta", {In.c, 1, 1, 1}, 1, init_kind::zeros, false});
      v.state({"running_mean", {In.c, 1, 1, 1}, 1, init_kind::zeros, false});
      v.state({"running_var", {In.c, 1, 1, 1}, 1, init_kind::ones, false});
      v.end();
    }
  };
};

using batch_norm = batch_norm_t<>;

}  // namespace cnnzoo
