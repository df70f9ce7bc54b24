#pragma once
// Selective kernels (X. Li, W. Wang, X. Hu, J. Yang, "Selective Kernel Networks", CVPR 2019).
//
//   selective_sum<Attention, Branch...>
//       u_i = Branch_i(x), U = sum_i u_i, a = Attention(U) of shape (k * c, 1, 1) for k branches
//       of c channels, y = sum_i u_i * a[i * c : (i + 1) * c] (a scale per channel and branch).
//   selective_kernel<sk_args>
//       the SK unit: branches 3x3 and dilated 3x3 (stride 1) or 3x3 and 5x5 (stride 2), each a
//       grouped conv (no bias) + BN + ReLU; attention GAP - dense(z, no bias) - BN - ReLU -
//       dense(2c, bias) - softmax, z = max(c / reduction, min_hidden).
//
// The attention's last dense layer stands for the paper's one dense layer per branch: k dense
// layers z -> c with biases on the same input are one dense layer z -> k c (same parameters,
// same count). The softmax is the one difference between the seed and the paper:
//   sk_args{}                                       the seed's code: each branch's weights are
//                                                   normalised over its channels;
//   sk_args{.over = ops::softmax_over::groups}     the paper: over the branches, per channel,
//                                                   so the branch weights of a channel sum to 1.
#include <algorithm>

#include "../ops/geometry.hpp"
#include "../graph/part_list.hpp"
#include "../graph/seq.hpp"
#include "activation.hpp"
#include "conv.hpp"
#include "dense.hpp"
#include "norm.hpp"
#include "pool.hpp"
#include "softmax.hpp"

namespace cnnzoo {

template <class Attention, class... Branches>
struct selective_sum {
  static_assert(sizeof...(Branches) >= 1, "cnnzoo: selective_sum needs at least one branch");
  template <shape In>
  struct bind : part_defaults {
    using list = detail::part_list<bind_t<Branches, In>...>;
    static constexpr std::size_t k = list::count;
    static constexpr shape in = In, out = list::out_shapes[0];
    static_assert(((bind_t<Branches, In>::out == out) && ...),
                  "cnnzoo: the branches of selective_sum<> must have the same output shape");
    static_assert(((!bind_t<Branches, In>::passthrough) && ...),
                  "cnnzoo: a selective_sum<> branch must compute something (identity is not allowed)");
    using attention = bind_t<Attention, out>;
    static_assert(attention::out == shape{static_cast<int>(k) * out.c, 1, 1},
                  "cnnzoo: selective_sum<>'s attention must map the branches' sum (c, h, w) to (branches * c, 1, 1)");
    static constexpr int c = out.c, hw = out.h * out.w;

    // act per image: the branches, U, the attention, y, one branch's weights (c), and a
    // scratch of max(out, in) values (a scaled branch forward, a branch's input gradient backward).
    static constexpr std::size_t u_at = list::total.act;
    static constexpr sizes attention_at{list::total.params, list::total.state, u_at + out.size(), list::total.aux};
    static constexpr std::size_t out_at = attention_at.act + attention::size.act;
    static constexpr std::size_t w_at = out_at + out.size();
    static constexpr std::size_t tmp_at = w_at + static_cast<std::size_t>(c);
    static constexpr sizes size = list::total + attention::size +
                                  sizes{0, 0, out.size() * 2 + static_cast<std::size_t>(c) + std::max(out.size(), In.size()), 0};
    static constexpr std::size_t flops = list::flops + attention::flops + (3 * k - 2) * out.size();

    // Branch i's weights a[:, i c : (i + 1) c] as a contiguous (n, c) block, or back.
    static constexpr ops::channel_copy slice(std::size_t i, int n, bool from_attention) noexcept {
      const int kc = static_cast<int>(k) * c, off = static_cast<int>(i) * c;
      return from_attention ? ops::channel_copy{n, 1, kc, off, c, 0, c} : ops::channel_copy{n, 1, c, 0, kc, off, c};
    }

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      using T = value_t<P>;
      const std::size_t n = static_cast<std::size_t>(ps.n), count = n * out.size();
      T* u = at.act + u_at * n;
      for (std::size_t i = 0; i < k; ++i) {
        list::template forwards<P>[i](ps, at.at(list::offsets[i], n), x);
        ps.policy.axpby(count, T(1), at.act + list::outputs[i] * n, i == 0 ? T(0) : T(1), u);
      }
      const slot_t<P> as = at.at(attention_at, n);
      attention::template forward<P>(ps, as, u);
      const T* a = output_of<attention>(as, u, n);
      T* y = at.act + out_at * n;
      T* w = at.act + w_at * n;
      T* tmp = at.act + tmp_at * n;
      for (std::size_t i = 0; i < k; ++i) {
        ps.policy.copy_channels(slice(i, ps.n, true), a, w, false);
        const T* ui = at.act + list::outputs[i] * n;
        if (i == 0) {
          ps.policy.scale_channels_forward(ps.n, c, hw, ui, w, y);
        } else {
          ps.policy.scale_channels_forward(ps.n, c, hw, ui, w, tmp);
          ps.policy.axpby(count, T(1), tmp, T(1), y);
        }
      }
    }

    // da_i = reduce(dy * u_i); dU = Attention's input gradient; du_i = dy * a_i + dU.
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                         value_t<P>* dx) {
      using T = value_t<P>;
      const std::size_t n = static_cast<std::size_t>(ps.n), count = n * out.size();
      const slot_t<P> as = at.at(attention_at, n);
      const T* u = at.act + u_at * n;
      const T* a = output_of<attention>(as, u, n);
      T* da = output_grad_of<attention>(as, n);
      T* dw = at.dact + w_at * n;
      for (std::size_t i = 0; i < k; ++i) {
        const T* ui = at.act + list::outputs[i] * n;
        ps.policy.scale_channels_backward(ps.n, c, hw, ui, nullptr, dy, nullptr, dw, false);
        ps.policy.copy_channels(slice(i, ps.n, false), dw, da, false);
      }
      T* du = at.dact + u_at * n;
      attention::template backward<P>(ps, as, u, da, du);
      T* w = at.act + w_at * n;
      T* tmp = at.dact + tmp_at * n;
      for (std::size_t i = 0; i < k; ++i) {
        const slot_t<P> bi = at.at(list::offsets[i], n);
        const T* ui = at.act + list::outputs[i] * n;
        T* dui = at.dact + list::outputs[i] * n;
        ps.policy.copy_channels(slice(i, ps.n, true), a, w, false);
        ps.policy.copy(count, du, dui);
        ps.policy.scale_channels_backward(ps.n, c, hw, ui, w, dy, dui, nullptr, true);
        T* target = !dx ? nullptr : i == 0 ? dx : tmp;
        list::template backwards<P>[i](ps, bi, x, dui, target);
        if (dx && i > 0) ps.policy.axpby(n * In.size(), T(1), tmp, T(1), dx);
      }
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"selective_sum", in, out, size, flops});
      list::describe(v);
      attention::describe(v);
      v.end();
    }
  };
};

struct sk_args {
  int stride = 1;
  int groups = 32;        // of both branches' convolutions
  int reduction = 16;     // z = max(c / reduction, min_hidden)
  int min_hidden = 32;    // the paper's L
  ops::softmax_over over = ops::softmax_over::channels;   // the seed's; groups: the paper's
};

template <sk_args A = sk_args{}>
struct selective_kernel {
  static_assert(A.stride == 1 || A.stride == 2, "cnnzoo: selective_kernel strides 1 or 2");
  static_assert(A.groups > 0 && A.reduction > 0 && A.min_hidden > 0,
                "cnnzoo: selective_kernel needs positive groups, reduction and min_hidden");
  template <shape In>
  struct bind
      : selective_sum<
            seq<global_avg_pool, dense<std::max(In.c / A.reduction, A.min_hidden), false>, batch_norm, relu,
                dense<2 * In.c>, softmax<softmax_args{.groups = 2, .over = A.over}>>,
            seq<conv<conv_args{.out = In.c, .kernel = 3, .stride = A.stride, .groups = A.groups}>, batch_norm, relu>,
            seq<conv<conv_args{.out = In.c, .kernel = A.stride == 1 ? 3 : 5, .stride = A.stride,
                               .dilation = A.stride == 1 ? 2 : 1, .groups = A.groups}>,
                batch_norm, relu>>::template bind<In> {
    template <class V>
    static void describe(V& v) {
      v.begin({"selective_kernel", In, bind::out, bind::size, bind::flops});
      bind::list::describe(v);
      bind::attention::describe(v);
      v.end();
    }
  };
};

}  // namespace cnnzoo
