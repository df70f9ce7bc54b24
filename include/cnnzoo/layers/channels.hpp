#pragma once
// Layers that move whole channels and compute nothing:
//   channel_slice<Offset, Count>   channels [Offset, Offset + Count) of the input (ShuffleNetV2's
//                                  split, the halves of a dual-path state);
//   zero_pad_channels<Out>         the input followed by Out - c zero channels (PyramidNet's
//                                  shortcut, He et al.'s option A);
//   channel_shuffle<Groups>        ShuffleNet's per-pixel channel transpose.
// Slicing and padding are channel-block copies (the policy's copy_channels, as concat uses); the
// shuffle is its own policy op, shuffle_channels.
#include "../ops/geometry.hpp"
#include "../graph/part.hpp"

namespace cnnzoo {

template <int Offset, int Count>
struct channel_slice {
  static_assert(Offset >= 0 && Count > 0, "cnnzoo: channel_slice needs Offset >= 0 and Count > 0");
  template <shape In>
  struct bind : part_defaults {
    static_assert(Offset + Count <= In.c, "cnnzoo: channel_slice reaches past the input's last channel");
    static constexpr shape in = In, out{Count, In.h, In.w};
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = 0;
    static constexpr int hw = In.h * In.w;

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.copy_channels(ops::channel_copy{ps.n, hw, In.c, Offset, Count, 0, Count}, x, at.act, false);
    }
    // The channels not taken get no gradient.
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P>, const value_t<P>*, const value_t<P>* dy, value_t<P>* dx) {
      if (!dx) return;
      if constexpr (Count < In.c) ps.policy.fill(ps.n * In.size(), value_t<P>(0), dx);
      ps.policy.copy_channels(ops::channel_copy{ps.n, hw, Count, 0, In.c, Offset, Count}, dy, dx, false);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"channel_slice", in, out, size, flops});
      v.end();
    }
  };
};

template <int Out>
struct zero_pad_channels {
  template <shape In>
  struct bind : part_defaults {
    static_assert(Out >= In.c, "cnnzoo: zero_pad_channels<Out> needs Out >= the input's channels");
    static constexpr shape in = In, out{Out, In.h, In.w};
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = 0;
    static constexpr int hw = In.h * In.w;

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      if constexpr (Out > In.c) ps.policy.fill(ps.n * out.size(), value_t<P>(0), at.act);
      ps.policy.copy_channels(ops::channel_copy{ps.n, hw, In.c, 0, Out, 0, In.c}, x, at.act, false);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P>, const value_t<P>*, const value_t<P>* dy, value_t<P>* dx) {
      if (dx) ps.policy.copy_channels(ops::channel_copy{ps.n, hw, Out, 0, In.c, 0, In.c}, dy, dx, false);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"zero_pad_channels", in, out, size, flops});
      v.end();
    }
  };
};

// Output channel j * Groups + g is input channel g * (c / Groups) + j, at every pixel: the
// channels seen as a (Groups, c / Groups) matrix, transposed.
//
// Why not the seed's way: its Keras code reshapes to (H, W, Groups, c / Groups) with the H and W
// the unit had *before* striding, so after every stride-2 unit the reshape no longer matches the
// tensor and moves values between pixels (and images) instead of permuting channels. The shuffle
// here is per pixel at every stride; the parameter counts do not depend on it.
template <int Groups>
struct channel_shuffle {
  static_assert(Groups > 0, "cnnzoo: channel_shuffle needs a positive number of groups");
  template <shape In>
  struct bind : part_defaults {
    static_assert(In.c % Groups == 0, "cnnzoo: channel_shuffle<Groups> needs channels divisible by Groups");
    static constexpr shape in = In, out = In;
    static constexpr sizes size{0, 0, out.size(), 0};
    static constexpr std::size_t flops = 0;
    static constexpr int hw = In.h * In.w;

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.shuffle_channels(ps.n, In.c, hw, Groups, x, at.act);
    }
    // The inverse transpose: the same shuffle with c / Groups groups.
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P>, const value_t<P>*, const value_t<P>* dy, value_t<P>* dx) {
      if (dx) ps.policy.shuffle_channels(ps.n, In.c, hw, In.c / Groups, dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"channel_shuffle", in, out, size, flops});
      v.end();
    }
  };
};

}  // namespace cnnzoo
