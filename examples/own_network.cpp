// Define a network of your own as a type, check its size at compile time, and run it on the CPU.
//
//   build/examples/example_own_network
#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/graph/summary.hpp>

#include <cstdio>
#include <iostream>
#include <vector>

using namespace cnnzoo;

// A small residual network: a stem, two residual units (the second downsamples, with a 1x1
// projection on its shortcut), global average pooling and a dense head. Hyperparameters are
// template arguments, so every shape and count below is known to the compiler.
using stem = seq<conv<conv_args{.out = 16, .kernel = 3}>, batch_norm, relu>;
using unit = residual<seq<conv<conv_args{.out = 16, .kernel = 3}>, batch_norm, relu,
                          conv<conv_args{.out = 16, .kernel = 3}>, batch_norm>>;
using down = residual<seq<conv<conv_args{.out = 32, .kernel = 3, .stride = 2}>, batch_norm, relu,
                          conv<conv_args{.out = 32, .kernel = 3}>, batch_norm>,
                      seq<conv<conv_args{.out = 32, .kernel = 1, .stride = 2}>, batch_norm>>;
struct my_net : seq<stem, unit, relu, down, relu, global_avg_pool, dense<10>> {};

// Counted by the compiler: change a channel count above and these fail to compile.
static_assert(trainable_params<my_net> == 19'994);
static_assert(output_shape<my_net> == shape{10, 1, 1});

int main() {
  std::printf("my_net: %zu trainable parameters, %zu BatchNorm statistics, %.1f MFLOPs per image\n",
              trainable_params<my_net>, state_values<my_net>, forward_flops<my_net> / 1e6);
  print_summary<my_net>(std::cout, "my_net", 1);

  network<my_net, exec::eigen<float>> net{/*batch=*/4};
  std::vector<float> images(4 * 3 * 32 * 32, 0.5f);
  const std::vector<int> classes = net.predict(images.data(), 4);
  std::printf("predicted classes of 4 grey images: %d %d %d %d\n", classes[0], classes[1], classes[2], classes[3]);
}
