// Checkpoints: a round trip keeps every value bit for bit; truncated, corrupt, foreign and
// wrong-model files are refused with a message that says which; a crash while saving never
// destroys the previous checkpoint.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cnnzoo/train/checkpoint.hpp>

#include <cmath>
#include <fstream>
#include <limits>

#include "support/temp_dir.hpp"

using namespace cnnzoo::train;
using cnnzoo::save_options;
using cnnzoo::simulated_crash;
using cnnzoo::test::temp_dir;
using Catch::Matchers::Contains;

namespace {

checkpoint_writer sample(float scale = 1.0f) {
  checkpoint_writer w("ResNet18");
  std::vector<float> params(1001);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] = scale * std::sin(static_cast<float>(i));
  params[7] = std::numeric_limits<float>::quiet_NaN();  // bits survive, even a NaN's
  params[8] = -0.0f;
  w.add("params", params);
  w.add("bn_state", std::vector<double>{1.5, -2.25, 1e-300});
  w.add("rng", std::vector<std::uint64_t>{0xDEADBEEFCAFEF00Dull, 1, 2, ~0ull});
  w.add_i64("step", -42);
  w.add_u64("epoch", 17);
  w.add_f64("loss_scale", 65536.0);
  w.add_string("config", R"({"lr":0.1})");
  w.add("empty", std::vector<float>{});
  return w;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_file(const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string load_error(const std::filesystem::path& p) {
  try {
    checkpoint_reader::load(p);
  } catch (const checkpoint_error& e) {
    return e.what();
  }
  return "(loaded)";
}

}  // namespace

TEST_CASE("crc32 is the standard (zlib) CRC-32", "[train][checkpoint]") {
  const std::string s = "123456789";
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  CHECK(crc32(bytes) == 0xCBF43926u);
  CHECK(crc32(bytes.subspan(4), crc32(bytes.first(4))) == 0xCBF43926u);
  CHECK(crc32({}) == 0u);
  std::vector<std::uint8_t> big(1000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  std::uint32_t bytewise = 0;
  for (auto b : big) bytewise = crc32(std::span(&b, 1), bytewise);
  CHECK(crc32(big) == bytewise);  // slicing-by-8 agrees with the byte-at-a-time path
}

TEST_CASE("a checkpoint round-trips every section bit for bit", "[train][checkpoint]") {
  temp_dir dir("ckpt");
  const auto path = dir / "last.ckpt";
  sample().save_atomic(path);
  CHECK_FALSE(std::filesystem::exists(dir / "last.ckpt.tmp"));

  const auto r = checkpoint_reader::load(path);
  CHECK(r.model() == "ResNet18");
  CHECK(r.version() == checkpoint_version);
  CHECK(r.sections().size() == 8);
  r.expect_model("ResNet18");

  const auto params = r.get<float>("params", 1001);
  std::vector<float> expect(1001);
  for (std::size_t i = 0; i < expect.size(); ++i) expect[i] = std::sin(static_cast<float>(i));
  expect[7] = std::numeric_limits<float>::quiet_NaN();
  expect[8] = -0.0f;
  CHECK(std::memcmp(params.data(), expect.data(), expect.size() * sizeof(float)) == 0);
  CHECK(r.get<double>("bn_state") == std::vector<double>{1.5, -2.25, 1e-300});
  CHECK(r.get<std::uint64_t>("rng") == std::vector<std::uint64_t>{0xDEADBEEFCAFEF00Dull, 1, 2, ~0ull});
  CHECK(r.get_i64("step") == -42);
  CHECK(r.get_u64("epoch") == 17);
  CHECK(r.get_f64("loss_scale") == 65536.0);
  CHECK(r.get_string("config") == R"({"lr":0.1})");
  CHECK(r.get<float>("empty").empty());
  for (const auto& s : r.sections()) CHECK(s.offset % 8 == 0);

  std::vector<float> into(1001);
  r.read_into<float>("params", into);
  CHECK(std::memcmp(into.data(), expect.data(), expect.size() * sizeof(float)) == 0);

  CHECK(sample().to_bytes() == read_file(path));  // deterministic bytes
}

TEST_CASE("getters check the section's name, dtype and count", "[train][checkpoint]") {
  const auto r = checkpoint_reader::from_bytes(sample().to_bytes(), "x.ckpt");
  CHECK_THROWS_WITH(r.get<float>("momentum"), Contains("no section 'momentum'") && Contains("params, bn_state"));
  CHECK_THROWS_WITH(r.get<double>("params"), Contains("holds float32 values, not float64"));
  CHECK_THROWS_WITH(r.get<float>("params", 1000), Contains("holds 1001 values, expected 1000"));
  std::vector<float> small(3);
  CHECK_THROWS_AS(r.read_into<float>("params", small), checkpoint_error);
  CHECK(r.has("rng"));
  CHECK_FALSE(r.has("nope"));
}

TEST_CASE("the writer refuses duplicate or empty names", "[train][checkpoint]") {
  checkpoint_writer w("m");
  w.add_u64("a", 1);
  CHECK_THROWS_WITH(w.add_u64("a", 2), Contains("added twice"));
  CHECK_THROWS_AS(w.add_u64("", 2), checkpoint_error);
  CHECK_THROWS_AS(checkpoint_writer(""), checkpoint_error);
}

TEST_CASE("a checkpoint of another model is refused", "[train][checkpoint]") {
  const auto r = checkpoint_reader::from_bytes(sample().to_bytes(), "run/last.ckpt");
  CHECK_THROWS_WITH(r.expect_model("WideResNet"), Contains("checkpoint run/last.ckpt is for model ResNet18, not WideResNet"));
}

TEST_CASE("a truncated checkpoint says how many bytes it expected", "[train][checkpoint]") {
  temp_dir dir("ckpt");
  const auto path = dir / "c.ckpt";
  sample().save_atomic(path);
  const auto full = read_file(path);
  for (std::size_t keep : {full.size() - 1, full.size() / 2, std::size_t{40}}) {
    write_file(path, std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(keep)));
    const std::string msg = load_error(path);
    CHECK_THAT(msg, Contains("is truncated: expected " + std::to_string(full.size()) + " bytes, got " + std::to_string(keep)));
  }
  write_file(path, std::vector<std::uint8_t>(full.begin(), full.begin() + 12));
  CHECK_THAT(load_error(path), Contains("expected at least 32 bytes, got 12"));
}

TEST_CASE("any single flipped byte is caught", "[train][checkpoint]") {
  const auto good = sample().to_bytes();
  // Every byte past the magic and the version; those have their own messages.
  for (std::size_t i = 12; i < good.size(); ++i) {
    auto bad = good;
    bad[i] ^= 0x10;
    try {
      checkpoint_reader::from_bytes(bad, "c.ckpt");
      FAIL("byte " << i << " flipped, yet the checkpoint loaded");
    } catch (const checkpoint_error& e) {
      const std::string msg = e.what();
      const bool named = msg.find("checksum mismatch") != std::string::npos || msg.find("truncated") != std::string::npos ||
                         msg.find("corrupt") != std::string::npos;
      if (!named) FAIL("byte " << i << ": " << msg);
    }
  }
  auto bad = good;
  bad[good.size() / 2] ^= 1;
  CHECK_THROWS_WITH(checkpoint_reader::from_bytes(bad, "c.ckpt"), Contains("is corrupt: checksum mismatch"));
}

TEST_CASE("something that is not a checkpoint, or a newer format, is refused", "[train][checkpoint]") {
  temp_dir dir("ckpt");
  std::ofstream(dir / "notes.txt") << "hello, this is not a checkpoint at all";
  CHECK_THAT(load_error(dir / "notes.txt"), Contains("is not a cnnzoo checkpoint"));
  CHECK_THAT(load_error(dir / "missing.ckpt"), Contains("does not exist"));

  auto b = sample().to_bytes();
  b[8] = 9;
  CHECK_THROWS_WITH(checkpoint_reader::from_bytes(b), Contains("format version 9") && Contains("reads version 1"));
  b = sample().to_bytes();
  b.push_back(0);
  CHECK_THROWS_WITH(checkpoint_reader::from_bytes(b), Contains("extra data after the end"));
}

// The temporaries write_atomically left in `dir` (core/files.hpp names them .NAME.tmp-PID-N).
static std::vector<std::filesystem::path> temporaries(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) out.push_back(e.path());
  return out;
}

TEST_CASE("a crash mid-write leaves the previous checkpoint loadable", "[train][checkpoint]") {
  temp_dir dir("ckpt");
  const auto path = dir / "last.ckpt";
  sample(1.0f).save_atomic(path);
  const auto before = read_file(path);

  SECTION("crash part way through writing the new file") {
    save_options opt;
    opt.crash_after_bytes = 3000;
    CHECK_THROWS_AS(sample(2.0f).save_atomic(path, opt), simulated_crash);
    const auto left = temporaries(dir.path());
    REQUIRE(left.size() == 1);
    CHECK(std::filesystem::file_size(left[0]) == 3000);
    CHECK_THAT(load_error(left[0]), Contains("truncated"));
  }
  SECTION("crash after writing, before the rename") {
    save_options opt;
    opt.crash_before_rename = true;
    CHECK_THROWS_AS(sample(2.0f).save_atomic(path, opt), simulated_crash);
    const auto left = temporaries(dir.path());
    REQUIRE(left.size() == 1);
    CHECK(checkpoint_reader::load(left[0]).get<float>("params")[1] == Approx(2 * std::sin(1.0f)));
  }
  SECTION("a temporary left by an earlier crash does not stop the next save") {
    write_file(dir / ".last.ckpt.tmp-1-0", {'C', 'N', 'N'});
  }

  CHECK(read_file(path) == before);
  CHECK(checkpoint_reader::load(path).get<float>("params")[1] == Approx(std::sin(1.0f)));

  sample(3.0f).save_atomic(path);  // the next save replaces the old file; the owner of the directory removes leftovers
  CHECK(checkpoint_reader::load(path).get<float>("params")[1] == Approx(3 * std::sin(1.0f)));
  cnnzoo::files::remove_stale_temporaries(dir.path());
  CHECK(temporaries(dir.path()).empty());
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("saving never writes through a symlink", "[train][checkpoint]") {
  temp_dir dir("ckpt");
  const auto victim = dir / "victim.txt";
  write_file(victim, {'k', 'e', 'e', 'p'});
  // A symlink planted where the checkpoint goes is replaced, and its target left alone.
  std::filesystem::create_symlink(victim, dir / "c.ckpt");
  sample(1.0f).save_atomic(dir / "c.ckpt");
  CHECK(read_file(victim) == std::vector<std::uint8_t>{'k', 'e', 'e', 'p'});
  CHECK_FALSE(std::filesystem::is_symlink(dir / "c.ckpt"));
  CHECK(checkpoint_reader::load(dir / "c.ckpt").get<float>("params")[1] == Approx(std::sin(1.0f)));
}

TEST_CASE("a checkpoint path that is not a regular file is refused without blocking", "[train][checkpoint]") {
  temp_dir dir("ckpt");
  CHECK_THROWS_WITH(checkpoint_reader::load(dir.path()), Contains("is a directory"));
  CHECK_THROWS_WITH(checkpoint_reader::load("/dev/zero"), Contains("character device"));
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(checkpoint_reader::load(dir / "fifo"), Contains("FIFO"));
  CHECK_THROWS_WITH(checkpoint_reader::load(dir / "none"), Contains("does not exist"));
}

TEST_CASE("an unwritable location is reported with the system's reason", "[train][checkpoint]") {
  temp_dir dir("ckpt");
  std::ofstream(dir / "file") << "x";
  CHECK_THROWS_WITH(sample().save_atomic(dir / "file" / "sub" / "c.ckpt"), Contains("cannot create checkpoint"));
  CHECK_THROWS_AS(sample().save_atomic(dir / "file" / "sub" / "c.ckpt"), cnnzoo::write_error);
}
