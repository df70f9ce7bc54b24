// The compile-cost probe, dlib side: WRN-28-10 (pre-activation wide units with dropout, a 1x1
// projection on each stage's first unit, a BN-ReLU head, global average pooling, 10 outputs) in
// dlib's DNN templates, one training step. Built only by scripts/compile-cost.sh, where
// Debian's libdlib-dev is installed; it is not part of the project's build.
#include <dlib/dnn.h>

#include <vector>

using namespace dlib;

// BN-ReLU-conv3x3(stride S)-BN-ReLU-dropout-conv3x3, the body of a wide unit.
template <long N, int S, typename SUBNET>
using wide_body = con<N, 3, 3, 1, 1, dropout<relu<bn_con<con<N, 3, 3, S, S, relu<bn_con<SUBNET>>>>>>>;
// A unit that keeps the shape: body + identity.
template <long N, typename SUBNET>
using wide_same = add_prev1<wide_body<N, 1, tag1<SUBNET>>>;
// A stage's first unit: body + 1x1 projection of the unit's input.
template <long N, int S, typename SUBNET>
using wide_first = add_prev2<con<N, 1, 1, S, S, skip1<tag2<wide_body<N, S, tag1<SUBNET>>>>>>;

template <typename SUBNET> using stage1 = wide_same<160, wide_same<160, wide_same<160, wide_first<160, 1, SUBNET>>>>;
template <typename SUBNET> using stage2 = wide_same<320, wide_same<320, wide_same<320, wide_first<320, 2, SUBNET>>>>;
template <typename SUBNET> using stage3 = wide_same<640, wide_same<640, wide_same<640, wide_first<640, 2, SUBNET>>>>;

using wrn_28_10 = loss_multiclass_log<fc<10, avg_pool_everything<relu<bn_con<
    stage3<stage2<stage1<relu<bn_con<con<16, 3, 3, 1, 1, input_rgb_image_sized<32>>>>>>>>>>>>;

int main() {
  wrn_28_10 net;
  dnn_trainer<wrn_28_10, sgd> trainer(net, sgd(5e-4, 0.9));
  std::vector<matrix<rgb_pixel>> images(2, matrix<rgb_pixel>(32, 32));
  for (auto& m : images) assign_all_pixels(m, rgb_pixel(128, 128, 128));
  const std::vector<unsigned long> labels{1, 2};
  trainer.train_one_step(images, labels);
  return 0;
}
