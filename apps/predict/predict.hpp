#pragma once
// cnnzoo-predict's work, as a library so that tests run it in-process: a zoo model with the
// weights of a safetensors file, and the top classes of image files.
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <cnnzoo/data/augment.hpp>

#include "zoo/registry.hpp"

namespace cnnzoo::predict {

// A network ready to classify: its weights, the normalization and the class names it was
// trained with (from the file's metadata; CIFAR-10's where the file has none).
struct classifier {
  std::string model;
  std::unique_ptr<zoo::runner> net;
  data::channel_statistics stats;
  std::vector<std::string> classes;
  std::vector<std::string> notes;  // what was assumed (e.g. statistics the file lacks)
};

// Loads `weights` into `model` (empty: the model the file names). Throws io::weights_error for a
// file that cannot be used, std::invalid_argument for an unknown model.
classifier load_classifier(const std::string& model, const std::filesystem::path& weights, int batch, int threads);

struct ranked {
  std::string label;
  double probability = 0;
};
struct prediction {
  std::string file;
  std::string error;          // non-empty: the file could not be read as an image
  std::vector<ranked> top;
};

// Decodes each file (PNG, JPEG, BMP, ...; resized to 32 x 32 as data/image.hpp states) and
// classifies it; a file that cannot be decoded gets its error, the others are still classified.
std::vector<prediction> classify(classifier& c, const std::vector<std::string>& files, int top_k);

// The command line: `argv` as main's. Writes results to `out`, errors to `err`; returns the exit
// code (0 all classified, 1 an image could not be read, 2 bad flags, 5 weights refused).
int main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace cnnzoo::predict
