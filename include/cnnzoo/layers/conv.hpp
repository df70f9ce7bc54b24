#pragma once
// 2-D convolution: square or rectangular kernels, stride, dilation, groups (depthwise too),
// "same" or "valid" padding, optional bias. Weights [out][in / groups][kh][kw], He-normal.
//
//   conv<conv_args{.out = 64, .kernel = 3, .bias = true}>
//   conv<conv_args{.out = 48, .kernel = 1, .kernel_w = 7}>     // a 1x7 kernel
//   conv<conv_args{.kernel = 3, .stride = 2, .depthwise = true}>
#include "../ops/geometry.hpp"
#include "../graph/part.hpp"

namespace cnnzoo {

struct conv_args {
  int out = 0;                  // filters; with depthwise, 0 means one per input channel
  int kernel = 3;               // kernel height (and width, unless kernel_w is set)
  int kernel_w = 0;
  int stride = 1;
  padding pad = padding::same;
  int dilation = 1;
  int groups = 1;
  bool depthwise = false;       // groups = input channels
  bool bias = false;
};

template <conv_args A>
struct conv {
  template <shape In>
  struct bind : part_defaults {
    static constexpr int kh = A.kernel, kw = A.kernel_w ? A.kernel_w : A.kernel;
    static constexpr int groups = A.depthwise ? In.c : A.groups;
    static constexpr int filters = A.depthwise && A.out == 0 ? In.c : A.out;
    static_assert(filters > 0, "cnnzoo: conv2d needs a positive number of filters (.out)");
    static_assert(kh > 0 && kw > 0 && A.stride > 0 && A.dilation > 0,
                  "cnnzoo: conv2d kernel, stride and dilation must be positive");
    static_assert(groups > 0 && In.c % groups == 0, "cnnzoo: conv2d input channels must be divisible by groups");
    static_assert(filters % groups == 0, "cnnzoo: conv2d filters (.out) must be divisible by groups");
    static_assert(A.pad == padding::valid || (A.dilation * (kh - 1)) % 2 == 0 && (A.dilation * (kw - 1)) % 2 == 0,
                  "cnnzoo: conv2d 'same' padding needs an odd (dilated) kernel extent");
    static constexpr int ph = detail::pad_for(A.pad, kh, A.dilation), pw = detail::pad_for(A.pad, kw, A.dilation);
    static_assert(In.h + 2 * ph >= detail::effective_extent(kh, A.dilation) &&
                      In.w + 2 * pw >= detail::effective_extent(kw, A.dilation),
                  "cnnzoo: conv2d kernel is larger than its padded input");

    static constexpr shape in = In;
    static constexpr shape out{filters, detail::out_extent(In.h, kh, A.stride, ph, A.dilation),
                               detail::out_extent(In.w, kw, A.stride, pw, A.dilation)};
    static constexpr int fan_in = In.c / groups * kh * kw;
    static constexpr std::size_t weights = static_cast<std::size_t>(filters) * fan_in;
    static constexpr sizes size{weights + (A.bias ? filters : 0), 0, out.size(), 0};
    static constexpr std::size_t flops = 2 * out.size() * fan_in;

    static constexpr ops::conv_geometry geometry(int n) noexcept {
      return {n, In.c, In.h, In.w, filters, kh, kw, A.stride, A.stride, ph, pw, A.dilation, A.dilation,
              groups, out.h, out.w, A.bias};
    }

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      ps.policy.conv2d_forward(geometry(ps.n), x, at.params, A.bias ? at.params + weights : nullptr, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      ps.policy.conv2d_backward(geometry(ps.n), x, at.params, dy, dx, at.grads, A.bias ? at.grads + weights : nullptr);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({A.depthwise ? "depthwise_conv2d" : "conv2d", in, out, size, flops});
      v.param({"weight", {filters, In.c / groups, kh, kw}, 4, init_kind::kernel, true});
      if constexpr (A.bias) v.param({"bias", {filters, 1, 1, 1}, 1, init_kind::zeros, false});
      v.end();
    }
  };
};

}  // namespace cnnzoo
