// Train a zoo model on CIFAR-10 with the public API, in about thirty lines: the data, a network
// bound to the CPU policy, the training step, a cosine schedule, and the held-out accuracy.
//
//   build/examples/example_train_cifar10 data/cifar10 2      # data directory, epochs
#include <cnnzoo/data/augment.hpp>
#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/models/shufflenet.hpp>
#include <cnnzoo/train/step.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

using namespace cnnzoo;

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : "data/cifar10";
  const int epochs = argc > 2 ? std::stoi(argv[2]) : 2, batch = 128;
  auto [train_set, val_set] = data::split_validation(data::load_train(dir), 5000);   // hold out 5,000
  const data::channel_statistics stats = data::channel_stats(train_set);

  network<models::shufflenet_v2, exec::eigen<float>> net{batch, /*seed=*/1};
  train::trainer trainer{net};                 // SGD, Nesterov momentum 0.9, weight decay 5e-4
  trainer.set_images(train_set.pixels, data::render_norm(stats));   // batches are rendered from these
  const data::augment_config augment{.crop_padding = 4, .random_flip = true};

  std::vector<std::size_t> order(train_set.size());
  const int steps = epochs * static_cast<int>(order.size() / batch);
  for (int step = 0; step < steps; ++step) {
    const std::size_t at = static_cast<std::size_t>(step) * batch % (order.size() / batch * batch);
    if (at == 0) {   // a new epoch, a new order
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), net.generator());
    }
    const std::span<const std::size_t> batch_idx(order.data() + at, batch);
    const data::batch_plan plan = data::plan_batch(batch_idx, train_set.labels, augment, 10, 0.0f, 0.0, net.generator());
    const double lr = 0.05 * 0.5 * (1 + std::cos(M_PI * step / steps));   // cosine decay
    trainer.queue(plan.recipes, plan.targets, plan.labels, step, lr);
    if ((step + 1) % 50 == 0) std::printf("step %d/%d: loss %.3f\n", step + 1, steps, trainer.take().mean_loss());
  }
  std::vector<float> images(batch * data::cifar10_image_bytes);
  std::vector<std::size_t> idx(batch);
  std::vector<std::uint8_t> labels(batch);
  std::size_t correct = 0, seen = 0;
  for (std::size_t i = 0; i + batch <= val_set.size(); i += batch, seen += batch) {
    std::iota(idx.begin(), idx.end(), i);
    data::gather_batch(val_set, idx, stats, images, labels);   // normalised as the training batches
    const std::vector<int> predicted = net.predict(images.data(), batch);
    for (int j = 0; j < batch; ++j) correct += predicted[j] == labels[j];
  }
  std::printf("held-out accuracy after %d epochs: %.2f%%\n", epochs, 100.0 * correct / seen);
} catch (const cnnzoo::error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
