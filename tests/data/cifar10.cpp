// The CIFAR-10 reader on small files written in the official format: good files load exactly,
// and every kind of bad data is refused with a message that says what and where.
#include <catch2/catch.hpp>

#include <cnnzoo/data/cifar10.hpp>

#include <cstdlib>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "support/temp_dir.hpp"

using namespace cnnzoo::data;
using cnnzoo::test::temp_dir;
using Catch::Matchers::Contains;

namespace {

// n images whose every byte is a known function of (image, position), labels cycling 0..9.
dataset make_set(std::size_t n, std::size_t seed = 0) {
  dataset s;
  s.labels.resize(n);
  s.pixels.resize(n * cifar10_image_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    s.labels[i] = static_cast<std::uint8_t>((i + seed) % 10);
    for (std::size_t p = 0; p < cifar10_image_bytes; ++p)
      s.pixels[i * cifar10_image_bytes + p] = static_cast<std::uint8_t>((i * 131 + p * 7 + seed) & 0xFF);
  }
  return s;
}

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const data_error& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace

TEST_CASE("a record is a label byte then the R, G, B planes", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(3);
  write_batch_file(dir / "data_batch_1.bin", s, 0, 3);
  REQUIRE(std::filesystem::file_size(dir / "data_batch_1.bin") == 3 * 3073);

  std::ifstream in(dir / "data_batch_1.bin", std::ios::binary);
  std::vector<char> raw(3 * 3073);
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  CHECK(static_cast<std::uint8_t>(raw[3073]) == s.labels[1]);
  CHECK(static_cast<std::uint8_t>(raw[3073 + 1 + 1024 + 5]) == s.pixels[3072 + 1024 + 5]);  // G plane
}

TEST_CASE("training batches load in order and round-trip exactly", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(25);
  write_batch_file(dir / "data_batch_1.bin", s, 0, 10);
  write_batch_file(dir / "data_batch_2.bin", s, 10, 10);
  write_batch_file(dir / "data_batch_3.bin", s, 20, 5);
  write_meta_file(dir.path());

  dataset t = load_train(dir.path(), missing_batches::allow);
  REQUIRE(t.size() == 25);
  CHECK(t.labels == s.labels);
  CHECK(t.pixels == s.pixels);
  CHECK(missing_train_batches(dir.path()) == std::vector<std::string>{"data_batch_4.bin", "data_batch_5.bin"});
  CHECK(load_class_names(dir.path()).at(9) == "truck");
  CHECK_FALSE(load_test(dir.path()).has_value());

  write_batch_file(dir / "test_batch.bin", s, 5, 7);
  auto test = load_test(dir.path());
  REQUIRE(test.has_value());
  CHECK(test->size() == 7);
  CHECK(test->labels[0] == s.labels[5]);
}

TEST_CASE("the official tarball's cifar-10-batches-bin folder is found one level down", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(4);
  write_batch_file(dir / "cifar-10-batches-bin" / "data_batch_1.bin", s, 0, 4);
  CHECK(load_train(dir.path(), missing_batches::allow).size() == 4);
}

TEST_CASE("validation is the last n records", "[data][cifar10]") {
  dataset s = make_set(10);
  auto [train, val] = split_validation(s, 3);
  REQUIRE(train.size() == 7);
  REQUIRE(val.size() == 3);
  CHECK(train.pixels.size() == 7 * cifar10_image_bytes);
  CHECK(val.labels[0] == s.labels[7]);
  CHECK(std::equal(val.image(2).begin(), val.image(2).end(), s.image(9).begin()));
  CHECK(std::equal(train.image(6).begin(), train.image(6).end(), s.image(6).begin()));
  CHECK_THROWS_WITH(split_validation(s, 10), Contains("--val-split"));
}

TEST_CASE("a missing directory names the absolute path, the layout and how to get the data", "[data][cifar10]") {
  temp_dir dir("cifar10");
  const auto missing = dir / "nowhere";
  const std::string msg = message_of([&] { load_train(missing); });
  CHECK_THAT(msg, Contains(std::filesystem::absolute(missing).string()));
  CHECK_THAT(msg, Contains("does not exist"));
  CHECK_THAT(msg, Contains("data_batch_1.bin"));
  CHECK_THAT(msg, Contains("--data DIR"));
  CHECK_THAT(msg, Contains("scripts/download-cifar10.sh"));
  CHECK_THAT(msg, Contains("cifar-10-binary.tar.gz"));
}

TEST_CASE("missing training files are named", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(4);
  CHECK_THAT(message_of([&] { load_train(dir.path()); }), Contains("missing data_batch_1.bin, data_batch_2.bin"));

  write_batch_file(dir / "data_batch_1.bin", s, 0, 2);
  write_batch_file(dir / "data_batch_3.bin", s, 2, 2);
  const std::string msg = message_of([&] { load_train(dir.path()); });
  CHECK_THAT(msg, Contains("incomplete"));
  CHECK_THAT(msg, Contains("missing data_batch_2.bin"));
}

TEST_CASE("a truncated file reports its size and the remainder", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(2);
  write_batch_file(dir / "data_batch_1.bin", s, 0, 2);
  std::filesystem::resize_file(dir / "data_batch_1.bin", 2 * 3073 - 100);
  const std::string msg = message_of([&] { load_train(dir.path(), missing_batches::allow); });
  CHECK_THAT(msg, Contains("6046 bytes"));
  CHECK_THAT(msg, Contains("1 records and 2973 bytes left over"));
  CHECK_THAT(msg, Contains("data_batch_1.bin"));

  std::filesystem::resize_file(dir / "data_batch_1.bin", 0);
  CHECK_THAT(message_of([&] { load_train(dir.path(), missing_batches::allow); }), Contains("is empty"));
}

TEST_CASE("a label outside 0-9 names the file, the record and the value", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(5);
  s.labels[3] = 10;
  write_batch_file(dir / "test_batch.bin", s, 0, 5);
  const std::string msg = message_of([&] { read_batch_file(dir / "test_batch.bin"); });
  CHECK_THAT(msg, Contains("test_batch.bin"));
  CHECK_THAT(msg, Contains("record 3"));
  CHECK_THAT(msg, Contains("label 10"));
}

TEST_CASE("the data directory comes from the flag, then CNNZOO_DATA, then data/cifar10", "[data][cifar10]") {
  ::unsetenv("CNNZOO_DATA");
  CHECK(resolve_data_dir(std::nullopt) == std::filesystem::path("data/cifar10"));
  ::setenv("CNNZOO_DATA", "/srv/cifar", 1);
  CHECK(resolve_data_dir(std::nullopt) == std::filesystem::path("/srv/cifar"));
  CHECK(resolve_data_dir(std::string("mine")) == std::filesystem::path("mine"));
  ::unsetenv("CNNZOO_DATA");
}

TEST_CASE("writing refuses an inconsistent set or a range outside it", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(3);
  CHECK_THROWS_AS(write_batch_file(dir / "x.bin", s, 2, 2), data_error);
  s.pixels.pop_back();
  CHECK_THROWS_WITH(write_batch_file(dir / "x.bin", s, 0, 1), Contains("pixel bytes"));
}

TEST_CASE("a partial copy stops the load unless a partial set is allowed", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(8);
  for (int b = 1; b <= 4; ++b) write_batch_file(dir / train_batch_name(b), s, static_cast<std::size_t>(b - 1) * 2, 2);
  const std::string msg = message_of([&] { load_train(dir.path()); });
  CHECK_THAT(msg, Contains("incomplete") && Contains("not data_batch_5.bin") && Contains("--partial-data"));
  CHECK(load_train(dir.path(), missing_batches::allow).size() == 8);
  const data_files f = examine(dir.path(), missing_batches::allow);
  CHECK(f.train.size() == 4);
  CHECK(f.train_images() == 8);
  CHECK(f.missing == std::vector<std::string>{"data_batch_5.bin"});
  write_batch_file(dir / train_batch_name(5), s, 0, 3);
  CHECK(examine(dir.path()).train_images() == 11);
}

TEST_CASE("a data path that is not a regular file is named for what it is, never 'missing'", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(10);
  for (int b = 1; b <= 4; ++b) write_batch_file(dir / train_batch_name(b), s, static_cast<std::size_t>(b - 1) * 2, 2);
  SECTION("a directory") {
    std::filesystem::create_directory(dir / "data_batch_5.bin");
    CHECK_THAT(message_of([&] { load_train(dir.path()); }), Contains("data_batch_5.bin is a directory"));
  }
  SECTION("a FIFO, refused without blocking") {
    REQUIRE(::mkfifo((dir / "data_batch_5.bin").c_str(), 0600) == 0);
    CHECK_THAT(message_of([&] { load_train(dir.path()); }), Contains("data_batch_5.bin is a FIFO"));
  }
  SECTION("a device") {
    std::filesystem::create_symlink("/dev/zero", dir / "data_batch_5.bin");
    CHECK_THAT(message_of([&] { load_train(dir.path()); }), Contains("character device"));
  }
  SECTION("a dangling symlink") {
    std::filesystem::create_symlink(dir / "gone.bin", dir / "data_batch_5.bin");
    CHECK_THAT(message_of([&] { load_train(dir.path()); }), Contains("symbolic link") && Contains("does not exist"));
  }
  SECTION("test_batch.bin as a directory, FIFO or dangling link is not dropped silently") {
    write_batch_file(dir / train_batch_name(5), s, 8, 2);
    std::filesystem::create_directory(dir / "test_batch.bin");
    CHECK_THAT(message_of([&] { load_test(dir.path()); }), Contains("test_batch.bin is a directory"));
    std::filesystem::remove(dir / "test_batch.bin");
    REQUIRE(::mkfifo((dir / "test_batch.bin").c_str(), 0600) == 0);
    CHECK_THAT(message_of([&] { load_test(dir.path()); }), Contains("FIFO"));
    std::filesystem::remove(dir / "test_batch.bin");
    std::filesystem::create_symlink(dir / "gone.bin", dir / "test_batch.bin");
    CHECK_THAT(message_of([&] { load_test(dir.path()); }), Contains("symbolic link"));
    std::filesystem::remove(dir / "test_batch.bin");
    CHECK_FALSE(load_test(dir.path()).has_value());  // absent is absent
  }
}

TEST_CASE("a data file in an unreadable directory is reported as unreadable, not missing", "[data][cifar10]") {
  if (::geteuid() == 0) return;  // root reads everything; the permission cannot be taken away
  temp_dir dir("cifar10");
  dataset s = make_set(10);
  for (int b = 1; b <= 5; ++b) write_batch_file(dir / "inner" / train_batch_name(b), s, static_cast<std::size_t>(b - 1) * 2, 2);
  std::filesystem::permissions(dir / "inner", std::filesystem::perms::owner_write, std::filesystem::perm_options::replace);
  const std::string msg = message_of([&] { load_train(dir / "inner"); });
  std::filesystem::permissions(dir / "inner", std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
  CHECK_THAT(msg, Contains("Permission denied"));
}

TEST_CASE("batches.meta.txt is read only when it is a small regular file", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(2);
  write_batch_file(dir / "data_batch_1.bin", s, 0, 2);
  REQUIRE(::mkfifo((dir / "batches.meta.txt").c_str(), 0600) == 0);
  CHECK_THAT(message_of([&] { load_class_names(dir.path()); }), Contains("FIFO"));
  std::filesystem::remove(dir / "batches.meta.txt");
  std::filesystem::create_symlink("/dev/zero", dir / "batches.meta.txt");
  CHECK_THAT(message_of([&] { load_class_names(dir.path()); }), Contains("character device"));
  std::filesystem::remove(dir / "batches.meta.txt");
  std::ofstream(dir / "batches.meta.txt") << std::string(100000, 'x');
  CHECK_THAT(message_of([&] { load_class_names(dir.path()); }), Contains("more than the 65536"));
  CHECK(parse_class_names("a\nb\r\n\nc\nd\ne\nf\ng\nh\ni\nj \n")[1] == "b");
  CHECK(parse_class_names("just one").at(0) == "airplane");
}

TEST_CASE("parse_batch reads records from memory, as the files hold them", "[data][cifar10]") {
  std::vector<std::uint8_t> raw(2 * cifar10_record_bytes, 7);
  raw[0] = 3;
  raw[cifar10_record_bytes] = 9;
  const dataset d = parse_batch(raw, "(memory)");
  CHECK(d.labels == std::vector<std::uint8_t>{3, 9});
  raw[cifar10_record_bytes] = 10;
  CHECK_THAT(message_of([&] { parse_batch(raw, "(memory)"); }), Contains("record 1"));
}

TEST_CASE("a data file larger than any CIFAR-10 file is refused before it is read", "[data][cifar10]") {
  temp_dir dir("cifar10");
  dataset s = make_set(10);
  for (int b = 1; b <= 5; ++b) write_batch_file(dir / train_batch_name(b), s, static_cast<std::size_t>(b - 1) * 2, 2);
  // A sparse file of whole records just over the limit: nothing is written to disk, nothing read.
  const std::uintmax_t huge = (max_batch_file_bytes / cifar10_record_bytes + 1) * cifar10_record_bytes;
  std::filesystem::resize_file(dir / "data_batch_3.bin", huge);
  CHECK_THAT(message_of([&] { examine(dir.path()); }), Contains("data_batch_3.bin has " + std::to_string(huge) + " bytes, more than"));
  CHECK_THAT(message_of([&] { read_batch_file(dir / "data_batch_3.bin"); }), Contains("more than the 2147483648"));
}
