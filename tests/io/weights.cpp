// A network's weights in a safetensors file: a round trip gives the same network bit for bit,
// and a file for another network (missing, unexpected or reshaped tensors, integers, another
// model's metadata) is refused with the tensors named.
#include <catch2/catch.hpp>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/io/weights.hpp>

#include <cstring>

#include "support/model_checks.hpp"
#include "support/temp_dir.hpp"

using namespace cnnzoo;
using cnnzoo::io::weights_error;
using cnnzoo::test::temp_dir;
using Catch::Matchers::Contains;

namespace {

struct small_net : seq<conv<conv_args{.out = 8, .kernel = 3, .stride = 2}>, batch_norm, relu,
                       conv<conv_args{.out = 16, .kernel = 3, .stride = 2, .bias = true}>, batch_norm, relu,
                       global_avg_pool, dense<10>> {};
struct wider_net : seq<conv<conv_args{.out = 12, .kernel = 3, .stride = 2}>, batch_norm, relu,
                       conv<conv_args{.out = 16, .kernel = 3, .stride = 2, .bias = true}>, batch_norm, relu,
                       global_avg_pool, dense<10>> {};
using cpu = exec::eigen<float>;

// A network whose BatchNorm statistics are not their initial values, so that the state is checked too.
network<small_net, cpu> trained_a_little(std::uint64_t seed) {
  network<small_net, cpu> net(4, seed);
  const auto images = testing::random_images(4, cifar10_image, seed);
  net.set_input(images.data(), 4);
  net.forward(4);
  return net;
}

std::string refusal(auto&& load) {
  try {
    load();
  } catch (const weights_error& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("Saved weights load into a network bit for bit, state included", "[io][weights]") {
  temp_dir dir;
  auto a = trained_a_little(7);
  io::save_weights(a, dir / "w.safetensors", {.model = "small"});

  io::safetensors_reader r(dir / "w.safetensors");
  CHECK(r.metadata_or("model") == "small");
  CHECK(r.metadata_or("cnnzoo_version") == std::string(cnnzoo::version));
  CHECK(r.metadata_or("format") == "cnnzoo");
  REQUIRE(r.tensors().size() == a.tensors().size());
  CHECK(r.tensors()[0].name == "0.seq/0.conv2d/weight");
  CHECK(r.tensors()[0].shape == std::vector<std::int64_t>{8, 3, 3, 3});

  auto b = io::load_network<small_net>(dir / "w.safetensors", 4);
  CHECK_FALSE(b.training());
  CHECK(b.download_params() == a.download_params());
  CHECK(b.download_state() == a.download_state());
  const auto images = testing::random_images(4, cifar10_image, 99);
  a.set_training(false);
  CHECK(a.logits_host(images.data(), 4) == b.logits_host(images.data(), 4));

  network<small_net, cpu> c(4, 123);
  io::load_weights(c, dir / "w.safetensors", "small");
  CHECK(c.download_params() == a.download_params());
}

TEST_CASE("Half-precision files load as the rounded values", "[io][weights]") {
  temp_dir dir;
  auto a = trained_a_little(3);
  io::save_weights(a, dir / "h.safetensors", {.dtype = io::stored_dtype::bf16});
  network<small_net, cpu> b(4, 5);
  io::load_weights(b, dir / "h.safetensors");
  const auto pa = a.download_params(), pb = b.download_params();
  for (std::size_t i = 0; i < pa.size(); ++i) REQUIRE(pb[i] == io::from_bf16(io::to_bf16(pa[i])));
}

TEST_CASE("Another network's file is refused with its tensors named", "[io][weights]") {
  temp_dir dir;
  network<small_net, cpu> small(2, 1);
  network<wider_net, cpu> wider(2, 1);
  io::save_weights(small, dir / "small.safetensors", {.model = "small"});
  io::save_weights(wider, dir / "wider.safetensors");

  // Same names, one shape differs.
  CHECK_THAT(refusal([&] { io::load_weights(small, dir / "wider.safetensors"); }),
             Contains("wider.safetensors: tensor '0.seq/0.conv2d/weight' has shape [12, 3, 3, 3], this network's is [8, 3, 3, 3]"));
  // Another model's metadata.
  CHECK_THAT(refusal([&] { io::load_weights(small, dir / "small.safetensors", "ResNet18"); }),
             Contains("holds weights of small, not ResNet18"));

  // Missing and unexpected tensors, each with the closest name on the other side.
  const auto p = small.download_params(), s = small.download_state();
  auto table = small.tensors();
  table[0].path = "0.seq/0.conv/weight";   // renamed: missing under the old name, unexpected under this one
  table.pop_back();                        // the dense bias: missing
  io::weights_writer(table, p, s).save(dir / "renamed.safetensors");
  const auto why = refusal([&] { io::load_weights(small, dir / "renamed.safetensors"); });
  CHECK_THAT(why, Contains("does not hold this network's tensors; missing 2: '0.seq/0.conv2d/weight' "
                           "(closest: '0.seq/0.conv/weight'), '0.seq/7.dense/bias'"));
  CHECK_THAT(why, Contains("unexpected 1: '0.seq/0.conv/weight' (closest: '0.seq/0.conv2d/weight')"));

  // Integers where weights belong.
  io::safetensors_writer w = io::weights_writer(small.tensors(), p, s);
  io::safetensors_writer ints;
  for (const auto& e : small.tensors()) {
    if (e.path == "0.seq/7.dense/bias") {
      const std::vector<std::int64_t> v(10, 1);
      ints.add(e.path, {10}, v);
    } else {
      const auto& from = e.is_state ? s : p;
      ints.add(e.path, io::shape_of(e.info), std::span<const float>(from).subspan(e.offset, e.info.count()));
    }
  }
  ints.save(dir / "ints.safetensors");
  CHECK_THAT(refusal([&] { io::load_weights(small, dir / "ints.safetensors"); }),
             Contains("tensor '0.seq/7.dense/bias' is I64"));
}
