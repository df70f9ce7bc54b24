#pragma once
// identity: the output is the input. Only meaningful as a branch (a residual's shortcut, the
// kept input of a dense layer's concat), so seq<> refuses it.
#include "part.hpp"

namespace cnnzoo {

struct identity {
  template <shape In>
  struct bind {
    static constexpr bool passthrough = true;
    static constexpr std::size_t out_at = 0;
    static constexpr shape in = In, out = In;
    static constexpr sizes size{};
    static constexpr std::size_t flops = 0;
    template <class P>
    static void forward(const pass<P>&, slot_t<P>, const value_t<P>*) {}
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P>, const value_t<P>*, const value_t<P>* dy, value_t<P>* dx) {
      if (dx) ps.policy.copy(ps.n * In.size(), dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"identity", in, out, size, flops});
      v.end();
    }
  };
};

}  // namespace cnnzoo
