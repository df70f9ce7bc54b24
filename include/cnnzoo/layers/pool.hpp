#pragma once
// Window pooling (max or average, any size and stride, same or valid) and global pooling.
// Average pooling divides by the number of in-image pixels under the window (Keras' rule).
//
//   max_pool<3, 2, padding::same>    avg_pool<2>    global_avg_pool    global_max_pool
#include "../ops/geometry.hpp"
#include "../graph/part.hpp"

namespace cnnzoo {

template <ops::pool_kind K, int Size, int Stride, padding Pad>
struct pool {
  static_assert(Size > 0 && Stride > 0, "cnnzoo: pooling size and stride must be positive");
  static_assert(Pad == padding::valid || Size % 2 == 1, "cnnzoo: 'same' pooling needs an odd window");
  template <shape In>
  struct bind : part_defaults {
    static constexpr int pad = detail::pad_for(Pad, Size, 1);
    static_assert(In.h + 2 * pad >= Size && In.w + 2 * pad >= Size,
                  "cnnzoo: pooling window is larger than its padded input");
    static constexpr shape in = In;
    static constexpr shape out{In.c, detail::out_extent(In.h, Size, Stride, pad, 1),
                               detail::out_extent(In.w, Size, Stride, pad, 1)};
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = out.size() * Size * Size;
    static constexpr ops::pool_geometry geometry(int n) noexcept {
      return {n, In.c, In.h, In.w, Size, Size, Stride, Stride, pad, pad, out.h, out.w};
    }
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.pool_forward(K, geometry(ps.n), x, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      if (dx) ps.policy.pool_backward(K, geometry(ps.n), x, dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({K == ops::pool_kind::max ? "max_pool" : "avg_pool", in, out, size, flops});
      v.end();
    }
  };
};

template <int Size, int Stride = Size, padding Pad = padding::valid>
using max_pool = pool<ops::pool_kind::max, Size, Stride, Pad>;
template <int Size, int Stride = Size, padding Pad = padding::valid>
using avg_pool = pool<ops::pool_kind::avg, Size, Stride, Pad>;

// (c, h, w) -> (c, 1, 1)
template <ops::pool_kind K>
struct global_pool {
  template <shape In>
  struct bind : part_defaults {
    static constexpr shape in = In, out{In.c, 1, 1};
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = In.size();
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.global_pool_forward(K, ps.n, In.c, In.h * In.w, x, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P>, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      if (dx) ps.policy.global_pool_backward(K, ps.n, In.c, In.h * In.w, x, dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({K == ops::pool_kind::max ? "global_max_pool" : "global_avg_pool", in, out, size, flops});
      v.end();
    }
  };
};

using global_avg_pool = global_pool<ops::pool_kind::avg>;
using global_max_pool = global_pool<ops::pool_kind::max>;

}  // namespace cnnzoo
