#pragma once
// Statistics over the channels of every pixel: (c, h, w) -> (1, h, w). CBAM's spatial attention
// (Woo et al. 2018) describes each pixel by the mean and the max of its channels:
//   concat<channel_mean, channel_max>     (c, h, w) -> (2, h, w)
// The max's gradient goes to the first channel holding the maximum.
#include "../ops/geometry.hpp"
#include "../graph/part.hpp"

namespace cnnzoo {

template <ops::pool_kind K>
struct channel_pool {
  template <shape In>
  struct bind : part_defaults {
    static constexpr shape in = In, out{1, In.h, In.w};
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = In.size();
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.channel_pool_forward(K, ps.n, In.c, In.h * In.w, x, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P>, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      if (dx) ps.policy.channel_pool_backward(K, ps.n, In.c, In.h * In.w, x, dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({K == ops::pool_kind::max ? "channel_max" : "channel_mean", in, out, size, flops});
      v.end();
    }
  };
};

using channel_mean = channel_pool<ops::pool_kind::avg>;
using channel_max = channel_pool<ops::pool_kind::max>;

}  // namespace cnnzoo
