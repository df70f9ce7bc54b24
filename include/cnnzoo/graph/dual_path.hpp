#pragma once
// dual_path<Body, Shortcut, Residual>: one Dual Path Network unit (Chen et al., NIPS 2017) over a
// state kept as a single tensor, [residual part | dense part] along channels.
//
//   t = Shortcut(x)   [t_res (Residual channels) | t_dense]     identity, or a projection
//   y = Body(x)       [y_res (Residual channels) | y_new]
//   out = [t_res + y_res | t_dense | y_new]
//
// The residual part adds (ResNet), the dense part grows by y_new's channels (DenseNet). Keeping
// one concatenated tensor means the next unit's body reads its input as is (the paper's
// concatenation before the unit is free) and the combinator needs only channel-block copies.
// Layout: the body's region, the shortcut's, the output, and (when the shortcut is not the
// identity) an input-sized buffer that collects the shortcut's input gradient.
#include "../ops/geometry.hpp"
#include "identity.hpp"
#include "part_list.hpp"

namespace cnnzoo {

namespace detail {
template <shape In, int Residual, class Body, class Shortcut>
struct dual_path_bound : part_defaults {
  using list = part_list<Body, Shortcut>;
  static constexpr shape in = In;
  static constexpr shape body = Body::out, kept = Shortcut::out;
  static_assert(body.h == kept.h && body.w == kept.w,
                "cnnzoo: dual_path's body and shortcut must give the same height and width");
  static_assert(Residual > 0 && Residual <= body.c && Residual <= kept.c,
                "cnnzoo: dual_path's residual width must fit in both the body's and the shortcut's output");
  static constexpr int fresh = body.c - Residual;       // channels the unit adds to the dense path
  static constexpr shape out{kept.c + fresh, body.h, body.w};
  static constexpr int hw = body.h * body.w;
  static constexpr bool own_shortcut_grad = !Shortcut::passthrough;
  static constexpr std::size_t out_at = list::total.act;
  static constexpr sizes size = list::total + sizes{0, 0, out.size() + (own_shortcut_grad ? In.size() : 0), 0};
  static constexpr std::size_t flops = list::flops + static_cast<std::size_t>(Residual) * hw;

  template <class P>
  static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
    using T = value_t<P>;
    const std::size_t n = static_cast<std::size_t>(ps.n);
    const slot_t<P> b = at.at(list::offsets[0], n), s = at.at(list::offsets[1], n);
    Body::template forward<P>(ps, b, x);
    Shortcut::template forward<P>(ps, s, x);
    const T* y = output_of<Body>(b, x, n);
    const T* t = output_of<Shortcut>(s, x, n);
    T* o = at.act + out_at * n;
    ps.policy.copy_channels(ops::channel_copy{ps.n, hw, kept.c, 0, out.c, 0, kept.c}, t, o, false);
    ps.policy.copy_channels(ops::channel_copy{ps.n, hw, body.c, 0, out.c, 0, Residual}, y, o, true);
    if constexpr (fresh > 0)
      ps.policy.copy_channels(ops::channel_copy{ps.n, hw, body.c, Residual, out.c, kept.c, fresh}, y, o, false);
  }

  template <class P>
  static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                       value_t<P>* dx) {
    using T = value_t<P>;
    const std::size_t n = static_cast<std::size_t>(ps.n);
    const slot_t<P> b = at.at(list::offsets[0], n), s = at.at(list::offsets[1], n);
    // The body's output gradient: dy's residual block and its new dense block.
    T* dyb = output_grad_of<Body>(b, n);
    ps.policy.copy_channels(ops::channel_copy{ps.n, hw, out.c, 0, body.c, 0, Residual}, dy, dyb, false);
    if constexpr (fresh > 0)
      ps.policy.copy_channels(ops::channel_copy{ps.n, hw, out.c, kept.c, body.c, Residual, fresh}, dy, dyb, false);
    Body::template backward<P>(ps, b, x, dyb, dx);
    // The shortcut's output gradient is dy's first kept.c channels.
    if constexpr (Shortcut::passthrough) {
      if (dx) ps.policy.copy_channels(ops::channel_copy{ps.n, hw, out.c, 0, In.c, 0, In.c}, dy, dx, true);
    } else {
      T* dyt = output_grad_of<Shortcut>(s, n);
      ps.policy.copy_channels(ops::channel_copy{ps.n, hw, out.c, 0, kept.c, 0, kept.c}, dy, dyt, false);
      T* tmp = dx ? at.dact + (out_at + out.size()) * n : nullptr;
      Shortcut::template backward<P>(ps, s, x, dyt, tmp);
      if (dx) ps.policy.axpby(n * In.size(), T(1), tmp, T(1), dx);
    }
  }
};
}  // namespace detail

template <class Body, class Shortcut, int Residual>
struct dual_path {
  template <shape In>
  struct bind : detail::dual_path_bound<In, Residual, bind_t<Body, In>, bind_t<Shortcut, In>> {
    template <class V>
    static void describe(V& v) {
      v.begin({"dual_path", In, bind::out, bind::size, bind::flops});
      bind::list::describe(v);
      v.end();
    }
  };
};

}  // namespace cnnzoo
