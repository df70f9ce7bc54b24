// What a user writes: a model type, its counts at compile time, a CPU network and one step.
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/train/step.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

using model = cnnzoo::models::resnet18;
static_assert(cnnzoo::trainable_params<model> == 11'177'098);

int main() {
  cnnzoo::network<model, cnnzoo::exec::eigen<float>> net{/*batch=*/2};
  cnnzoo::train::trainer trainer{net};
  std::vector<float> images(2 * 3 * 32 * 32, 0.25f);
  const int labels[2] = {3, 7};
  const double loss = trainer.train_step(images.data(), labels, 2);
  std::printf("consumer: ResNet18 has %zu trainable parameters; one CPU step, loss %.4f\n",
              cnnzoo::trainable_params<model>, loss);
  return std::isfinite(loss) ? 0 : 1;
}
