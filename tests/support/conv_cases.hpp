#pragma once
// The convolution geometries every policy's conv parity test runs (tests/cuda/ops.cpp,
// tests/exec/onednn.cpp): one of each kind the zoo uses.
#include <vector>

#include <cnnzoo/ops/geometry.hpp>

namespace cnnzoo::testing {

// A geometry with its output size computed: n images of c x h x w, k filters kh x kw, stride s,
// padding ph/pw, dilation d, groups.
inline ops::conv_geometry conv_case(int n, int c, int h, int w, int k, int kh, int kw, int s, int ph, int pw, int d,
                                    int groups, bool bias) {
  ops::conv_geometry g{n, c, h, w, k, kh, kw, s, s, ph, pw, d, d, groups, 0, 0, bias};
  g.oh = (h + 2 * ph - d * (kh - 1) - 1) / s + 1;
  g.ow = (w + 2 * pw - d * (kw - 1) - 1) / s + 1;
  return g;
}

inline const std::vector<ops::conv_geometry>& policy_conv_cases() {
  static const std::vector<ops::conv_geometry> cases{
      conv_case(2, 8, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, false),   // 3x3 same
      conv_case(3, 16, 10, 10, 8, 3, 3, 2, 1, 1, 1, 1, true),  // strided, bias
      conv_case(2, 16, 8, 8, 32, 1, 1, 2, 0, 0, 1, 1, true),   // 1x1 projection shortcut
      conv_case(2, 8, 7, 7, 12, 3, 3, 1, 1, 1, 1, 4, true),    // grouped
      conv_case(2, 8, 9, 9, 8, 3, 3, 2, 1, 1, 1, 8, false),    // depthwise, strided
      conv_case(2, 8, 11, 11, 8, 3, 3, 1, 2, 2, 2, 1, false),  // dilated
      conv_case(2, 8, 9, 9, 8, 1, 7, 1, 0, 3, 1, 1, true),     // rectangular 1x7
      conv_case(1, 3, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, true),  // a CIFAR stem
  };
  return cases;
}

}  // namespace cnnzoo::testing
