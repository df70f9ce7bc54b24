// parity_dump: what cnnzoo computes for one zoo model, written for an independent implementation
// to compare with (python/cnnzoo_torch/parity.py).
//
//   parity_dump MODEL DIR [--batch N] [--seed S] [--no-fp64]
//     DIR/weights.safetensors    the network's parameters and BatchNorm statistics. Kernels are
//                                the recipe's initializer's; biases, gammas and betas are drawn
//                                away from their initial values, so that each matters to the
//                                comparison; running statistics are the batch's, moved (perturb).
//     DIR/reference.safetensors  input [N,3,32,32] (standard normal), labels [N] (I64),
//                                logits_eval (inference mode, before any training pass),
//                                logits_inference (the same with dropout and drop-path at their
//                                models' rates, as deployed: what an ONNX export computes),
//                                logits_train and loss (training mode, dropout and drop-path off,
//                                mean cross-entropy against the labels), grad/NAME for every
//                                parameter, state_after/NAME for every statistic after that pass.
//     DIR/reference_fp64.safetensors  the same computed on exec::eigen<double> from the same
//                                weights and input (results rounded to float when stored), unless
//                                --no-fp64.
//   parity_dump MODEL --roundtrip IN OUT
//     loads IN (a weights file of MODEL) into the network and writes it again as OUT: the C++ half
//     of the round trip cnnzoo -> safetensors -> PyTorch -> safetensors -> cnnzoo.
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/io/weights.hpp>

#include "parity/fp64_registry.hpp"
#include "zoo/registry.hpp"

namespace {

using namespace cnnzoo;

std::unique_ptr<zoo::runner> make_runner(const zoo::entry& e, int batch, std::uint64_t seed, bool fp64 = false) {
  zoo::runner_options o;
  o.batch = batch;
  o.seed = seed;
  o.device = zoo::device_kind::cpu;
  o.init = e.info.seed_init;
  auto r = fp64 ? parity::fp64_runners().at(e.info.name)(o) : e.make(o);
  r->options().dropout = 0.0f;
  r->options().drop_path = 0.0f;
  return r;
}

// Biases, gammas and betas away from 0 and 1; running statistics those of the batch itself (as a
// trained network's are those of its data), moved by up to 25%. Statistics drawn independently of
// the data would leave the inference pass ill-conditioned in float32: SENet154's residual stream
// then grows to 1e5 and no two float32 implementations agree on its logits.
void perturb(zoo::runner& r, std::uint64_t seed, const std::vector<float>& input, const std::vector<float>& targets,
             int n) {
  rng g(seed ^ 0x5eed);
  std::vector<float> p = r.params();
  for (const tensor_entry& e : r.tensors()) {
    if (e.is_state || e.info.init == init_kind::kernel) continue;
    float* v = p.data() + e.offset;
    for (std::size_t i = 0; i < e.info.count(); ++i)
      v[i] = e.info.role == "gamma" ? static_cast<float>(g.uniform(0.5, 1.5)) : static_cast<float>(0.1 * g.normal());
  }
  r.set_params(p);
  // One training pass from zero statistics leaves momentum x the batch's in each: divide it out.
  std::vector<float> s(r.state().size(), 0.0f), logits(static_cast<std::size_t>(n) * 10), grads;
  r.set_state(s);
  r.loss_and_gradients(input.data(), n, targets.data(), true, logits.data(), grads);
  s = r.state();
  for (const tensor_entry& e : r.tensors()) {
    if (!e.is_state) continue;
    float* v = s.data() + e.offset;
    for (std::size_t i = 0; i < e.info.count(); ++i) {
      const float batch = v[i] / 0.1f;  // every zoo BatchNorm has momentum 0.1 (layers/norm.hpp)
      v[i] = e.info.role == "running_var" ? batch * static_cast<float>(g.uniform(0.8, 1.25))
                                          : batch + static_cast<float>(0.1 * g.normal());
    }
  }
  r.set_state(s);
}

std::vector<std::int64_t> shape_of(const tensor_entry& e) { return io::shape_of(e.info); }

struct batch {
  std::vector<float> input, targets;
  std::vector<std::int64_t> labels;
};

batch make_batch(const zoo::entry& e, int n, std::uint64_t seed) {
  const int classes = 10;
  batch b;
  rng g(seed + 1);
  b.input.resize(static_cast<std::size_t>(n) * e.info.input.size());
  for (float& x : b.input) x = static_cast<float>(g.normal());
  b.labels.resize(static_cast<std::size_t>(n));
  b.targets.assign(static_cast<std::size_t>(n) * classes, 0.0f);
  for (int i = 0; i < n; ++i) {
    b.labels[static_cast<std::size_t>(i)] = (3 * i + 1) % classes;
    b.targets[static_cast<std::size_t>(i * classes + b.labels[static_cast<std::size_t>(i)])] = 1.0f;
  }
  return b;
}

// Inference logits, then one training pass: everything parity.py compares, into PATH.
void reference(const zoo::entry& e, zoo::runner& r, const batch& b, int n, const std::filesystem::path& path) {
  const int classes = 10;
  std::vector<float> eval(static_cast<std::size_t>(n) * classes), train(eval.size()), inference(eval.size()), grads;
  r.predict(b.input.data(), n, eval.data());
  // As deployed (what an ONNX export computes): every dropout and drop-path at its model's rate,
  // which in inference mode matters where a gate scales its branch by its survival probability.
  const run_options parity_options = r.options();
  r.options() = run_options{};
  r.predict(b.input.data(), n, inference.data());
  r.options() = parity_options;
  const double loss = r.loss_and_gradients(b.input.data(), n, b.targets.data(), true, train.data(), grads);
  const std::vector<float> after = r.state();
  const std::vector<float> loss_value{static_cast<float>(loss)};

  io::safetensors_writer w;
  w.set_metadata("model", e.info.name);
  w.set_metadata("batch", std::to_string(n));
  w.set_metadata("device", r.device());
  const auto& in = e.info.input;
  w.add("input", {n, in.c, in.h, in.w}, b.input);
  w.add("labels", {n}, b.labels);
  w.add("logits_eval", {n, classes}, eval);
  w.add("logits_inference", {n, classes}, inference);
  w.add("logits_train", {n, classes}, train);
  w.add("loss", {}, loss_value);
  for (const tensor_entry& t : r.tensors()) {
    if (t.is_state) w.add("state_after/" + t.path, shape_of(t), std::span<const float>(after).subspan(t.offset, t.info.count()));
    else w.add("grad/" + t.path, shape_of(t), std::span<const float>(grads).subspan(t.offset, t.info.count()));
  }
  w.save(path);
  std::printf("%s on %s: batch %d, loss %.9f -> %s\n", e.info.name.c_str(), r.device().c_str(), n, loss,
              path.string().c_str());
}

int dump(const zoo::entry& e, const std::filesystem::path& dir, int n, std::uint64_t seed, bool fp64) {
  std::filesystem::create_directories(dir);
  const batch b = make_batch(e, n, seed);
  std::vector<float> params, state;
  {
    auto r = make_runner(e, n, seed);
    perturb(*r, seed, b.input, b.targets, n);
    params = r->params();
    state = r->state();
    io::weights_writer(r->tensors(), params, state, {.model = e.info.name}).save(dir / "weights.safetensors");
    reference(e, *r, b, n, dir / "reference.safetensors");
  }
  if (fp64) {  // the same weights (floats are exact in double), the same input
    auto r = make_runner(e, n, seed, true);
    r->set_params(params);
    r->set_state(state);
    reference(e, *r, b, n, dir / "reference_fp64.safetensors");
  }
  return 0;
}

// Through the tensor table alone (no network): the file's values into the flat buffers and out.
int roundtrip(const zoo::entry& e, const std::filesystem::path& in, const std::filesystem::path& out) {
  const std::vector<tensor_entry> table = e.tensors();
  std::vector<float> p(e.info.trainable), s(e.info.keras_total - e.info.trainable);
  io::read_weights(io::safetensors_reader(in), table, p, s, e.info.name);
  io::weights_writer(table, p, s, {.model = e.info.name}).save(out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "usage: parity_dump MODEL DIR [--batch N] [--seed S] [--no-fp64]\n       parity_dump MODEL --roundtrip IN OUT\n";
  if (argc < 3) {
    std::fputs(usage, stderr);
    return 2;
  }
  try {
    const zoo::entry* e = zoo::find(argv[1]);
    if (!e) {
      std::fprintf(stderr, "parity_dump: no model named '%s'\n", argv[1]);
      return 2;
    }
    if (std::strcmp(argv[2], "--roundtrip") == 0) {
      if (argc != 5) {
        std::fputs(usage, stderr);
        return 2;
      }
      return roundtrip(*e, argv[3], argv[4]);
    }
    int n = 4;
    std::uint64_t seed = 1;
    bool fp64 = true;
    for (int i = 3; i < argc; ++i) {
      if (std::strcmp(argv[i], "--no-fp64") == 0) fp64 = false;
      else if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc) n = std::stoi(argv[++i]);
      else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = std::stoull(argv[++i]);
      else {
        std::fputs(usage, stderr);
        return 2;
      }
    }
    return dump(*e, argv[2], n, seed, fp64);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "parity_dump: %s\n", ex.what());
    return 1;
  }
}
