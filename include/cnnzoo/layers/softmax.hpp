#pragma once
// Softmax over channels, at every pixel.
//
//   softmax<>                                                  over all channels
//   softmax<softmax_args{.groups = 2}>                         over the channels of each half
//   softmax<softmax_args{.groups = 2, .over = ops::softmax_over::groups}>
//                                                              over the two halves, channel by channel
// The channels are viewed as (groups, c / groups); see ops/attention.hpp. SKNet's
// attention logits are (branches * c, 1, 1): the seed normalises each branch over its channels
// (the first form with groups = branches), the paper over the branches (the second).
#include "../ops/attention.hpp"
#include "../graph/part.hpp"

namespace cnnzoo {

struct softmax_args {
  int groups = 1;
  ops::softmax_over over = ops::softmax_over::channels;
};

template <softmax_args A = softmax_args{}>
struct softmax {
  static_assert(A.groups > 0, "cnnzoo: softmax needs at least one channel group");
  template <shape In>
  struct bind : part_defaults {
    static_assert(In.c % A.groups == 0, "cnnzoo: softmax channels must be divisible by softmax_args::groups");
    static constexpr shape in = In, out = In;
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = out.size();
    static constexpr ops::softmax_geometry geometry(int n) noexcept {
      return {n, A.groups, In.c / A.groups, In.h * In.w, A.over};
    }
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.softmax_forward(geometry(ps.n), x, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>*, const value_t<P>* dy,
                         value_t<P>* dx) {
      if (dx) ps.policy.softmax_backward(geometry(ps.n), at.act, dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({A.over == ops::softmax_over::groups ? "softmax_over_groups" : "softmax", in, out, size, flops});
      v.end();
    }
  };
};

}  // namespace cnnzoo
