// Classify an image file with a trained ResNet18 (a cnnzoo-train run's model.safetensors):
//   example_classify_image runs/resnet18/model.safetensors cat.png
// The nine lines of main are the README's example.
#include <cstdio>
#include <iostream>
#include <memory>

#include <cnnzoo/data/image.hpp>
#include <cnnzoo/io/weights.hpp>
#include <cnnzoo/models/resnet.hpp>

#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: example_classify_image MODEL.safetensors IMAGE\n"), 2;
  auto net = cnnzoo::io::load_network<cnnzoo::models::resnet18>(argv[1]);          // CPU, inference mode
  const auto in = cnnzoo::io::read_input_convention(cnnzoo::io::safetensors_reader(argv[1]));
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> rgb(stbi_load(argv[2], &w, &h, &channels, 3), stbi_image_free);
  if (!rgb) return std::fprintf(stderr, "%s: %s\n", argv[2], stbi_failure_reason()), 1;
  const auto planes = cnnzoo::data::rgb_to_planes({rgb.get(), std::size_t(w) * h * 3}, w, h);  // 32 x 32, planar
  std::vector<float> x(planes.size());
  cnnzoo::data::normalize_zscore(planes, x, cnnzoo::data::batch_shape{1}, in.stats);
  std::cout << argv[2] << ": " << in.classes[net.predict(x.data(), 1)[0]] << "\n";
}
