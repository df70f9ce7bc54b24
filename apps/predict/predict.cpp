#include "predict.hpp"
#include "image_file.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/data/image.hpp>
#include <cnnzoo/io/weights.hpp>

namespace cnnzoo::predict {

classifier load_classifier(const std::string& model, const std::filesystem::path& weights, int batch, int threads) {
  const io::safetensors_reader reader(weights);
  const std::string named = reader.metadata_or("model");
  const std::string wanted = model.empty() ? named : model;
  if (wanted.empty())
    throw std::invalid_argument("cnnzoo-predict: " + weights.string() + " does not name its model; give --model");
  const zoo::entry* e = zoo::find(wanted);
  if (!e) throw std::invalid_argument("cnnzoo-predict: unknown model '" + wanted + "' (cnnzoo-models lists them)");
  classifier c;
  c.model = e->info.name;
  zoo::runner_options o;
  o.batch = batch;
  o.threads = threads;
  o.device = zoo::device_kind::cpu;
  c.net = e->make(o);
  std::vector<float> p(c.net->params().size()), s(c.net->state().size());
  io::read_weights(reader, c.net->tensors(), p, s, c.model);
  c.net->set_params(p);
  c.net->set_state(s);
  io::input_convention convention = io::read_input_convention(reader, 10);  // every zoo network classifies CIFAR-10
  c.stats = std::move(convention.stats);
  c.classes = std::move(convention.classes);
  c.notes = std::move(convention.assumed);
  return c;
}

std::vector<prediction> classify(classifier& c, const std::vector<std::string>& files, int top_k) {
  const int classes = static_cast<int>(c.classes.size());
  const int batch = c.net->batch_capacity();
  std::vector<prediction> out(files.size());
  std::vector<std::size_t> readable;
  std::vector<float> inputs;
  const std::size_t image = static_cast<std::size_t>(data::cifar10_image_bytes);
  for (std::size_t i = 0; i < files.size(); ++i) {
    out[i].file = files[i];
    const auto planes = read_image_file(files[i], out[i].error);
    if (!out[i].error.empty()) continue;
    readable.push_back(i);
    inputs.resize(inputs.size() + image);
    data::normalize_zscore(planes, std::span<float>(inputs).subspan(inputs.size() - image, image),
                           data::batch_shape{1}, c.stats);
  }
  std::vector<float> logits(static_cast<std::size_t>(batch) * classes);
  for (std::size_t first = 0; first < readable.size(); first += static_cast<std::size_t>(batch)) {
    const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch), readable.size() - first));
    c.net->predict(inputs.data() + first * image, n, logits.data());
    for (int i = 0; i < n; ++i) {
      const float* z = logits.data() + static_cast<std::size_t>(i) * classes;
      const double zmax = *std::max_element(z, z + classes);
      std::vector<double> p(static_cast<std::size_t>(classes));
      double sum = 0;
      for (int k = 0; k < classes; ++k) sum += p[static_cast<std::size_t>(k)] = std::exp(z[k] - zmax);
      std::vector<int> order(static_cast<std::size_t>(classes));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return z[a] > z[b]; });
      auto& pred = out[readable[first + static_cast<std::size_t>(i)]];
      for (int k = 0; k < std::min(top_k, classes); ++k)
        pred.top.push_back({c.classes[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])],
                            p[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] / sum});
    }
  }
  return out;
}

int main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"cnnzoo-predict: classify images with a zoo model and a weights file (a run's model.safetensors)"};
  std::string model, weights;
  std::vector<std::string> files;
  int top_k = 3, threads = 0;
  bool json = false;
  app.add_option("--model", model, "the zoo model (default: the one the weights file names)");
  app.add_option("--weights", weights, "a safetensors file of the model's weights")->required();
  app.add_option("--top", top_k, "how many classes to print per image")->check(CLI::Range(1, 10));
  app.add_option("--threads", threads, "CPU threads (0: all cores)")->check(CLI::Range(0, 1024));
  app.add_flag("--json", json, "one JSON object per line and image: {\"file\": ..., \"top\": [{\"class\": ..., \"probability\": ...}]}");
  app.add_option("images", files, "PNG, JPEG, BMP, TGA, GIF or PPM files; other sizes than 32 x 32 are resized "
                                  "(area average down, bilinear up)")->required();
  app.footer("Exit codes: 0 every image classified, 1 an image could not be read (the others are still "
             "classified), 2 bad flags or unknown model, 5 a weights file that cannot be used.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? 0 : 2;
  }
  classifier c;
  try {
    c = load_classifier(model, weights, static_cast<int>(std::min<std::size_t>(files.size(), 64)), threads);
  } catch (const io::weights_error& e) {
    err << e.what() << "\n";
    return 5;
  } catch (const std::invalid_argument& e) {
    err << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "cnnzoo-predict: " << e.what() << "\n";
    return 1;
  }
  for (const auto& note : c.notes) err << "cnnzoo-predict: " << note << "\n";
  std::vector<prediction> results;
  try {
    results = classify(c, files, top_k);
  } catch (const std::exception& e) {
    err << "cnnzoo-predict: " << e.what() << "\n";
    return 1;
  }
  int failed = 0;
  for (const prediction& p : results) {
    if (!p.error.empty()) {
      err << "cnnzoo-predict: " << p.file << ": " << p.error << "\n";
      ++failed;
      continue;
    }
    if (json) {
      nlohmann::ordered_json j;
      j["file"] = p.file;
      j["top"] = nlohmann::ordered_json::array();
      for (const auto& r : p.top) j["top"].push_back({{"class", r.label}, {"probability", r.probability}});
      out << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";  // any file name
    } else {
      out << p.file << ":";
      for (const auto& r : p.top) {
        char prob[16];
        std::snprintf(prob, sizeof prob, "%.3f", r.probability);
        out << " " << r.label << " " << prob;
      }
      out << "\n";
    }
  }
  return failed ? 1 : 0;
}

}  // namespace cnnzoo::predict
