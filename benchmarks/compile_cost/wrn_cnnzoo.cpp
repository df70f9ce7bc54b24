// The compile-cost probe, cnnzoo side: WRN-28-10 as a type, bound to the CPU policy, one training
// step. scripts/compile-cost.sh compiles it at -O0 beside wrn_dlib.cpp (the same network in dlib)
// and reports time, peak memory and the longest symbol of each object.
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/models/wide_resnet.hpp>
#include <cnnzoo/train/step.hpp>

#include <vector>

int main() {
  using model = cnnzoo::models::wide_resnet_28_10;
  cnnzoo::network<model, cnnzoo::exec::eigen<float>> net{/*batch=*/2};
  cnnzoo::train::trainer trainer{net};
  std::vector<float> images(2 * 3 * 32 * 32, 0.5f);
  const int labels[2] = {1, 2};
  return trainer.train_step(images.data(), labels, 2) > 0 ? 0 : 1;
}
