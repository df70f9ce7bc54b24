#pragma once
#include "common.hpp"
// Activations and elementwise arithmetic. Each activation's derivative is written from the
// value the forward pass had (x, or y where that is cheaper and exact).
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "../vocabulary.hpp"

namespace cnnzoo::exec::eigen_detail {

template <class T> T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }
// MobileNetV3's piecewise-linear sigmoid, relu6(x + 3) / 6.
template <class T> T hard_sigmoid(T x) { return std::clamp(x + T(3), T(0), T(6)) / T(6); }

template <class T>
T activate(activation a, T x) {
  switch (a) {
    case activation::identity: return x;
    case activation::relu: return x > T(0) ? x : T(0);
    case activation::relu6: return std::clamp(x, T(0), T(6));
    case activation::sigmoid: return sigmoid(x);
    case activation::hard_sigmoid: return hard_sigmoid(x);
    case activation::swish: return x * sigmoid(x);
    case activation::hard_swish: return x * hard_sigmoid(x);
  }
  return x;
}

// d activate(x) / dx; at the kinks the one-sided derivative from the right of the open
// interval is taken (0 at relu's 0), as every framework does.
template <class T>
T activate_grad(activation a, T x, T y) {
  switch (a) {
    case activation::identity: return T(1);
    case activation::relu: return x > T(0) ? T(1) : T(0);
    case activation::relu6: return (x > T(0) && x < T(6)) ? T(1) : T(0);
    case activation::sigmoid: return y * (T(1) - y);
    case activation::hard_sigmoid: return (x > T(-3) && x < T(3)) ? T(1) / T(6) : T(0);
    case activation::swish: { const T s = sigmoid(x); return s * (T(1) + x * (T(1) - s)); }
    case activation::hard_swish:
      if (x <= T(-3)) return T(0);
      if (x >= T(3)) return T(1);
      return (T(2) * x + T(3)) / T(6);
  }
  return T(1);
}

// Calls body(std::integral_constant<activation, a>) so that each loop below is compiled for one
// activation: with the switch of activate() inside the loop the compiler cannot vectorise it,
// and ReLU's backward ran at a tenth of memory speed.
template <class Body>
void with_activation(activation a, Body&& body) {
  using A = activation;
  switch (a) {
    case A::identity: return body(std::integral_constant<A, A::identity>{});
    case A::relu: return body(std::integral_constant<A, A::relu>{});
    case A::relu6: return body(std::integral_constant<A, A::relu6>{});
    case A::sigmoid: return body(std::integral_constant<A, A::sigmoid>{});
    case A::hard_sigmoid: return body(std::integral_constant<A, A::hard_sigmoid>{});
    case A::swish: return body(std::integral_constant<A, A::swish>{});
    case A::hard_swish: return body(std::integral_constant<A, A::hard_swish>{});
  }
}

template <class T>
void activation_forward(activation a, std::ptrdiff_t count, const T* x, T* y) {
  with_activation(a, [&](auto kind) {
    constexpr activation k = decltype(kind)::value;
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
    for (std::ptrdiff_t i = 0; i < count; ++i) y[i] = activate(k, x[i]);
  });
}

template <class T>
void activation_backward(activation a, std::ptrdiff_t count, const T* x, const T* y, const T* dy, T* dx) {
  with_activation(a, [&](auto kind) {
    constexpr activation k = decltype(kind)::value;
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      // The derivative in a variable of its own: GCC 12 if-converts (and so vectorises) this
      // form on plain x86-64, but not dy[i] * (x > 0 ? 1 : 0) written in one expression.
      const T d = activate_grad(k, x[i], y[i]);
      dx[i] = dy[i] * d;
    }
  });
}

}  // namespace cnnzoo::exec::eigen_detail
