#pragma once
// Pointwise activations as layers: relu, relu6, sigmoid, hard_sigmoid, swish, hard_swish.
#include "../ops/geometry.hpp"
#include "../graph/part.hpp"

namespace cnnzoo {

template <ops::activation F>
struct activation_layer {
  template <shape In>
  struct bind : part_defaults {
    static constexpr shape in = In, out = In;
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = out.size();
    static constexpr ops::activation activation = F;  // for graph/fusion.hpp
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.activation_forward(F, ps.n * out.size(), x, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      if (dx) ps.policy.activation_backward(F, ps.n * out.size(), x, at.act, dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({ops::activation_name(F), in, out, size, flops});
      v.end();
    }
  };
};

using relu = activation_layer<ops::activation::relu>;
using relu6 = activation_layer<ops::activation::relu6>;
using sigmoid = activation_layer<ops::activation::sigmoid>;
using hard_sigmoid = activation_layer<ops::activation::hard_sigmoid>;
using swish = activation_layer<ops::activation::swish>;
using hard_swish = activation_layer<ops::activation::hard_swish>;

}  // namespace cnnzoo
