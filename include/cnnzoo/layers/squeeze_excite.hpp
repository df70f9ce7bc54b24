#pragma once
// Squeeze-and-excitation (J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks", CVPR 2018):
//   s = gate(dense(c, bias)(act(dense(hidden, bias)(global_avg_pool(x)))))
//   y[n, ch, :, :] = x[n, ch, :, :] * s[n, ch]
// hidden = A.hidden when set, else c / A.reduction. The zoo's variants differ only in arguments:
//   SE-ResNet50         squeeze_excite<se_args{}>                         r = 16, no bias, ReLU, sigmoid
//   SE-WideResNet       se_args{.bias = true, .act = swish}
//   MobileNetV3         se_args{.reduction = 4, .act = relu6, .gate = hard_sigmoid}
//   EfficientNetB0      se_args{.hidden = max(1, block input / 4), .bias = true, .act = swish}
// The excitation is an ordinary seq of existing layers bound inside this part; only the broadcast
// multiply (the policy's scale_channels_forward / _backward) is new.
#include "../ops/geometry.hpp"
#include "../graph/seq.hpp"
#include "activation.hpp"
#include "dense.hpp"
#include "pool.hpp"

namespace cnnzoo {

struct se_args {
  int hidden = 0;                                  // 0: channels / reduction
  int reduction = 16;
  bool bias = false;                               // on both dense layers
  ops::activation act = ops::activation::relu;
  ops::activation gate = ops::activation::sigmoid;
};

template <se_args A>
struct squeeze_excite {
  static_assert(A.hidden >= 0 && A.reduction > 0, "cnnzoo: squeeze_excite needs hidden >= 0 and reduction > 0");
  template <shape In>
  struct bind : part_defaults {
    static constexpr int hidden = A.hidden ? A.hidden : In.c / A.reduction;
    static_assert(hidden > 0, "cnnzoo: squeeze_excite's hidden width is 0 (fewer channels than the reduction); "
                              "set se_args::hidden");
    using excite = bind_t<seq<global_avg_pool, dense<hidden, A.bias>, activation_layer<A.act>,
                              dense<In.c, A.bias>, activation_layer<A.gate>>, In>;
    static constexpr shape in = In, out = In;
    // act: the excitation's region (its last output is s, (c, 1, 1)), then y.
    static constexpr std::size_t out_at = excite::size.act;
    static constexpr sizes size = excite::size + sizes{0, 0, out.size(), 0};
    static constexpr std::size_t flops = excite::flops + out.size();
    static constexpr int hw = In.h * In.w;

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      const std::size_t n = static_cast<std::size_t>(ps.n);
      excite::template forward<P>(ps, at, x);
      ps.policy.scale_channels_forward(ps.n, In.c, hw, x, output_of<excite>(at, x, n), at.act + out_at * n);
    }
    // dx = dy * s + (the excitation's input gradient); the pooling at the excitation's start
    // overwrites dx, so the direct term is added after it.
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      const std::size_t n = static_cast<std::size_t>(ps.n);
      const value_t<P>* s = output_of<excite>(at, x, n);
      value_t<P>* ds = output_grad_of<excite>(at, n);
      ps.policy.scale_channels_backward(ps.n, In.c, hw, x, s, dy, nullptr, ds, false);
      excite::template backward<P>(ps, at, x, ds, dx);
      if (dx) ps.policy.scale_channels_backward(ps.n, In.c, hw, x, s, dy, dx, nullptr, true);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"squeeze_excite", in, out, size, flops});
      excite::list::describe(v);
      v.end();
    }
  };
};

}  // namespace cnnzoo
