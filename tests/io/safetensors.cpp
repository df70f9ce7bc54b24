// The safetensors format: values survive a round trip (F32 bit for bit, F16 and BF16 rounded to
// nearest even), and every malformed file is refused with a message naming the file and what is
// wrong with it.
#include <catch2/catch.hpp>

#include <cnnzoo/io/safetensors.hpp>

#include <cmath>
#include <fstream>
#include <limits>

#include "support/temp_dir.hpp"

using namespace cnnzoo::io;
using cnnzoo::test::temp_dir;
using Catch::Matchers::Contains;

namespace {

std::filesystem::path write_raw(const temp_dir& dir, const std::string& header, std::size_t data_bytes,
                                std::string name = "f.safetensors") {
  const auto path = dir.path() / name;
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header << std::string(data_bytes, '\0');
  return path;
}

std::string refusal(const std::filesystem::path& path, read_limits limits = {}) {
  try {
    safetensors_reader r(path, limits);
  } catch (const weights_error& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("F32 tensors and metadata survive a round trip bit for bit", "[io][safetensors]") {
  temp_dir dir;
  std::vector<float> a{1.0f, -0.0f, std::numeric_limits<float>::denorm_min(), 3.0e38f, -1.25f, 0.1f};
  std::vector<std::int64_t> labels{3, -1, 9};
  safetensors_writer w;
  w.set_metadata("model", "ResNet18");
  w.add("layer/weight", {2, 3}, a);
  w.add("labels", {3}, labels);
  w.add("empty", {0, 4}, std::span<const float>());
  w.save(dir.path() / "a.safetensors");

  safetensors_reader r(dir.path() / "a.safetensors");
  REQUIRE(r.tensors().size() == 3);
  CHECK(r.tensors()[0].name == "layer/weight");  // in the order written
  CHECK(r.metadata_or("model") == "ResNet18");
  CHECK(r.at("layer/weight").shape == std::vector<std::int64_t>{2, 3});
  const auto back = r.read_floats(r.at("layer/weight"));
  REQUIRE(back.size() == a.size());
  CHECK(std::memcmp(back.data(), a.data(), a.size() * 4) == 0);
  CHECK(r.read_ints(r.at("labels")) == labels);
  CHECK(r.read_floats(r.at("empty")).empty());
  CHECK_THROWS_WITH(r.read_floats(r.at("labels")), Contains("'labels' holds I64"));
  CHECK_THROWS_WITH(r.at("nothing"), Contains("has no tensor 'nothing'"));
}

TEST_CASE("The header is JSON padded to 8 bytes, offsets relative to the data", "[io][safetensors]") {
  safetensors_writer w;
  const std::vector<float> v{1.0f, 2.0f};
  w.add("x", {2}, v);
  const auto bytes = w.to_bytes();
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
  CHECK(n % 8 == 0);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  CHECK_THAT(header, Contains(R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})"));
  CHECK(bytes.size() == 8 + n + 8);
}

TEST_CASE("F16 and BF16 round to nearest even and keep the special values", "[io][safetensors]") {
  CHECK(to_f16(1.0f) == 0x3C00);
  CHECK(to_f16(-2.0f) == 0xC000);
  CHECK(to_f16(65504.0f) == 0x7BFF);                      // the largest half
  CHECK(to_f16(65519.0f) == 0x7BFF);                      // below the halfway point to 65536
  CHECK(to_f16(65520.0f) == 0x7C00);                      // halfway: rounds (to even) to inf
  CHECK(to_f16(std::ldexp(1.0f, -24)) == 0x0001);         // the smallest subnormal
  CHECK(to_f16(std::ldexp(1.0f, -25)) == 0x0000);         // halfway to it: rounds to even, 0
  CHECK(to_f16(std::ldexp(3.0f, -25)) == 0x0002);         // 1.5 units: rounds to even, 2
  CHECK(to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // halfway between 1 and the next: even
  CHECK(to_f16(1.0f + std::ldexp(3.0f, -11)) == 0x3C02);
  CHECK(std::isnan(from_f16(to_f16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(from_f16(to_f16(-std::numeric_limits<float>::infinity())) == -std::numeric_limits<float>::infinity());
  for (std::uint32_t h = 0; h < 0x7C00; ++h)  // every finite half converts to float and back exactly
    REQUIRE(to_f16(from_f16(static_cast<std::uint16_t>(h))) == h);

  CHECK(to_bf16(1.0f) == 0x3F80);
  CHECK(to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);  // halfway: even
  CHECK(to_bf16(1.0f + std::ldexp(3.0f, -8)) == 0x3F82);
  CHECK(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(from_bf16(0xC0A0) == -5.0f);

  temp_dir dir;
  const std::vector<float> v{0.1f, -3.0f, 1e-6f};
  safetensors_writer w;
  w.add("h", {3}, v, stored_dtype::f16);
  w.add("b", {3}, v, stored_dtype::bf16);
  w.save(dir.path() / "h.safetensors");
  safetensors_reader r(dir.path() / "h.safetensors");
  CHECK(r.at("h").dtype == stored_dtype::f16);
  for (int k = 0; k < 3; ++k) {
    CHECK(r.read_floats(r.at("h"))[static_cast<std::size_t>(k)] == from_f16(to_f16(v[static_cast<std::size_t>(k)])));
    CHECK(r.read_floats(r.at("b"))[static_cast<std::size_t>(k)] == from_bf16(to_bf16(v[static_cast<std::size_t>(k)])));
  }
}

TEST_CASE("The writer refuses a tensor that does not fit its shape, or a name used twice", "[io][safetensors]") {
  safetensors_writer w;
  const std::vector<float> v{1, 2, 3};
  CHECK_THROWS_WITH(w.add("x", {2, 2}, v), Contains("'x' has 3 values, its shape holds 4"));
  w.add("x", {3}, v);
  CHECK_THROWS_WITH(w.add("x", {3}, v), Contains("added twice"));
  CHECK_THROWS_WITH(w.add("__metadata__", {3}, v), Contains("needs a name"));
}

TEST_CASE("Malformed files are refused with the file and the reason", "[io][safetensors]") {
  temp_dir dir;
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  CHECK(refusal(write_raw(dir, ok, 8)) == "(accepted)");

  SECTION("missing, not a file, too short") {
    CHECK_THAT(refusal(dir.path() / "none.safetensors"), Contains("none.safetensors does not exist"));
    CHECK_THAT(refusal(dir.path()), Contains("is not a regular file"));
    std::ofstream(dir.path() / "short") << "abc";
    CHECK_THAT(refusal(dir.path() / "short"), Contains("short is not a safetensors file: 3 bytes"));
  }
  SECTION("a header longer than the file, or than the limit") {
    const auto path = write_raw(dir, ok, 8);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.put(static_cast<char>(0xFF));
    f.put(static_cast<char>(0xFF));
    f.close();
    CHECK_THAT(refusal(path), Contains("its header claims 65535 bytes, the file has"));
    CHECK_THAT(refusal(write_raw(dir, ok, 8, "g"), {.max_header_bytes = 16}), Contains("over the limit of 16"));
  }
  SECTION("a header that is not the schema") {
    CHECK_THAT(refusal(write_raw(dir, "{\"a\":", 0)), Contains("its header is not JSON"));
    // A number no double holds is JSON's out_of_range, not a parse error (found by fuzz/safetensors).
    CHECK_THAT(refusal(write_raw(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,960e992]}})", 8)),
               Contains("its header is not JSON"));
    CHECK_THAT(refusal(write_raw(dir, "[1,2]", 0)), Contains("not a JSON object"));
    CHECK_THAT(refusal(write_raw(dir, R"({"a":{"dtype":"F32"}})", 0)), Contains("'a' needs dtype, shape and data_offsets"));
    CHECK_THAT(refusal(write_raw(dir, R"({"a":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}})", 8)),
               Contains("'a' has dtype \"Q8\""));
    CHECK_THAT(refusal(write_raw(dir, R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)),
               Contains("'a' has shape [-2]"));
    CHECK_THAT(refusal(write_raw(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)),
               Contains("'a' has data_offsets [8,0]"));
    CHECK_THAT(refusal(write_raw(dir, R"({"__metadata__":{"k":1}})", 0)), Contains("'k' is not a string"));
  }
  SECTION("offsets out of range, sizes that differ, overlaps and holes") {
    CHECK_THAT(refusal(write_raw(dir, ok, 4)), Contains("'a' has data_offsets [0, 8] past the 4 bytes of data"));
    CHECK_THAT(refusal(write_raw(dir, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
               Contains("'a': shape [3] of F32 needs 12 bytes, data_offsets give 8"));
    CHECK_THAT(refusal(write_raw(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
               Contains("tensors 'a' and 'b' overlap (bytes 4 to 8)"));
    CHECK_THAT(refusal(write_raw(dir, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
               Contains("bytes 0 to 4 of the data belong to no tensor"));
    CHECK_THAT(refusal(write_raw(dir, ok, 12)), Contains("the last 4 bytes of the data belong to no tensor"));
  }
}
