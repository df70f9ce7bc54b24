// cnnzoo-export: a zoo model with the weights of a safetensors file, as an ONNX inference graph.
//
//   cnnzoo-export --weights runs/resnet18/model.safetensors --onnx resnet18.onnx
//   cnnzoo-export --model ResNet18 --weights model.safetensors --onnx resnet18.onnx
//
// io/onnx.hpp says what the graph holds (opset 17; BatchNormalization nodes; the input's
// normalization and the class names in its metadata). Exit codes: 0 written, 1 other failure,
// 2 bad flags or unknown model, 5 a weights file that cannot be used, 6 the ONNX file cannot be
// written (disk full, permissions; nothing is half-written).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <cnnzoo/io/weights.hpp>
#include <cnnzoo/train/checkpoint.hpp>

#include "export/exporters.hpp"
#include "zoo/registry.hpp"

int main(int argc, char** argv) {
  using namespace cnnzoo;
  CLI::App app{"cnnzoo-export: write a zoo model and its weights as an ONNX inference graph"};
  std::string model, weights, onnx_path;
  app.add_option("--model", model, "the zoo model (default: the one the weights file names)");
  app.add_option("--weights", weights, "a safetensors file of the model's weights (a run's model.safetensors)")->required();
  app.add_option("--onnx", onnx_path, "the ONNX file to write")->required();
  app.footer("Exit codes: 0 written, 1 other failure, 2 bad flags or unknown model, 5 a weights file that cannot be used.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // bad flags: 2, as the footer says (CLI11's own codes are 100+)
  }
  try {
    const io::safetensors_reader reader(weights);
    const std::string name = model.empty() ? reader.metadata_or("model") : model;
    if (name.empty()) {
      std::cerr << "cnnzoo-export: " << weights << " does not name its model; give --model\n";
      return 2;
    }
    const zoo::entry* e = zoo::find(name);
    const auto exporter = e ? exporters::onnx_exporters().find(e->info.name) : exporters::onnx_exporters().end();
    if (exporter == exporters::onnx_exporters().end()) {
      std::cerr << "cnnzoo-export: unknown model '" << name << "' (cnnzoo-models lists them)\n";
      return 2;
    }
    std::vector<float> params(e->info.trainable), state(e->info.keras_total - e->info.trainable);
    io::read_weights(reader, e->tensors(), params, state, e->info.name);
    const io::input_convention convention = io::read_input_convention(reader);
    for (const auto& note : convention.assumed) std::cerr << "cnnzoo-export: " << note << "\n";
    io::onnx_metadata meta{e->info.name, {}, {}, convention.classes};
    for (int c = 0; c < 3; ++c) {
      meta.mean_255.push_back(255.0f * convention.stats.mean[static_cast<std::size_t>(c)]);
      meta.std_255.push_back(255.0f * convention.stats.std[static_cast<std::size_t>(c)]);
    }
    // Weights over 1 GiB go beside the model (OUT.data), as ONNX does past protobuf's 2 GB limit.
    const std::filesystem::path out(onnx_path);
    const std::string data_name = out.filename().string() + ".data";
    const io::onnx_files files = exporter->second(params, state, meta, data_name, io::onnx_inline_limit);
    const auto write = [](const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
      write_atomically(path, "ONNX file", [&](auto sink) { sink(bytes.data(), bytes.size()); });
    };
    std::error_code ec;
    if (!files.external_data.empty()) write(out.parent_path() / data_name, files.external_data);
    else std::filesystem::remove(out.parent_path() / data_name, ec);  // a previous export's, no longer named
    write(out, files.model);
    std::cout << "cnnzoo-export: wrote " << onnx_path << " (" << e->info.name << ", " << files.model.size() << " bytes";
    if (!files.external_data.empty())
      std::cout << "; weights in " << (out.parent_path() / data_name).string() << ", " << files.external_data.size() << " bytes";
    std::cout << ")\n";
    return 0;
  } catch (const io::weights_error& ex) {
    std::cerr << ex.what() << "\n";
    return 5;
  } catch (const write_error& ex) {
    std::cerr << ex.what() << "\n";
    return 6;
  } catch (const std::exception& ex) {
    std::cerr << "cnnzoo-export: " << ex.what() << "\n";
    return 1;
  }
}
