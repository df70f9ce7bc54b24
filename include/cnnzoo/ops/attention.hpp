#pragma once
// Run-time description of a softmax over channels (see geometry.hpp for why policies take plain
// structs). Kept apart from geometry.hpp so that the attention parts add one small header.
//
// An activation of n images with groups * c channels and hw pixels is viewed as
// (n, groups, c, hw):
//   softmax_over::channels  normalises over the c channels of each group, at every pixel
//                           (groups = 1: the plain softmax over channels);
//   softmax_over::groups    normalises over the groups, for every channel index and pixel.
// SKNet's attention logits are (n, branches * c): the seed's code normalises each branch over
// its channels, the paper (Li et al. 2019) over the branches; the same op does both.
namespace cnnzoo::ops {

enum class softmax_over : unsigned char { channels, groups };

struct softmax_geometry {
  int n = 0, groups = 1, c = 0, hw = 1;
  softmax_over over = softmax_over::channels;
};

}  // namespace cnnzoo::ops
