#pragma once
// Checkpoint files: named, typed sections (parameters, BatchNorm state, optimizer state, rng
// state, the step...) behind a header that says which model wrote them, closed by a CRC-32 of
// every byte before it.
//
// Layout (all integers little-endian):
//   0   "CNNZOOCK"                         magic, so any other file is refused at once
//   8   u32 format version (1)
//   12  u32 number of sections
//   16  u64 total file size in bytes       a truncated file is told apart from a corrupt one
//   24  u32 model name length, u32 0
//   32  model name
//       per section: u32 name length, u32 dtype, u64 element count, u64 byte offset, name
//       section data, each starting at a multiple of 8 bytes
//   end u32 CRC-32 (IEEE, as zlib.crc32) of all bytes before it
//
// Saving is atomic (core/files.hpp: an exclusive temporary beside PATH, fsync'ed, renamed over
// PATH), so a crash at any moment leaves either the previous checkpoint or the new one, never a
// mixture. POSIX only.
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <cnnzoo/core/files.hpp>
#include <cnnzoo/train/crc32.hpp>

#include "../core/error.hpp"

namespace cnnzoo::train {

static_assert(std::endian::native == std::endian::little,
              "cnnzoo: checkpoints store raw little-endian values; big-endian hosts are not supported");

// A checkpoint that cannot be written, read or used; the message says which and why.
class checkpoint_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

inline constexpr std::string_view checkpoint_magic = "CNNZOOCK";
inline constexpr std::uint32_t checkpoint_version = 1;
// The largest checkpoint load() reads: SENet154's (parameters, state and momentum) is 6.8 GB.
inline constexpr std::uint64_t max_checkpoint_bytes = std::uint64_t{64} << 30;

enum class dtype : std::uint32_t { f32 = 1, f64 = 2, u64 = 3, i64 = 4, u8 = 5 };

inline const char* dtype_name(dtype t) noexcept {
  switch (t) {
    case dtype::f32: return "float32";
    case dtype::f64: return "float64";
    case dtype::u64: return "uint64";
    case dtype::i64: return "int64";
    case dtype::u8: return "bytes";
  }
  return "unknown";
}

template <class T> inline constexpr bool is_checkpoint_type_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::uint64_t> ||
    std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint8_t>;

template <class T>
constexpr dtype dtype_of() noexcept {
  static_assert(is_checkpoint_type_v<T>, "cnnzoo: checkpoint sections hold float, double, uint64_t, int64_t or uint8_t");
  if constexpr (std::is_same_v<T, float>) return dtype::f32;
  else if constexpr (std::is_same_v<T, double>) return dtype::f64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return dtype::u64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return dtype::i64;
  else return dtype::u8;
}

inline constexpr std::size_t dtype_size(dtype t) noexcept {
  return t == dtype::u8 ? 1 : t == dtype::f32 ? 4 : 8;
}

struct section_info {
  std::string name;
  dtype type = dtype::u8;
  std::uint64_t count = 0;
  std::uint64_t offset = 0;  // from the start of the file
};

namespace detail {

inline constexpr std::size_t header_bytes = 32;
inline constexpr std::size_t section_entry_bytes = 24;
inline constexpr std::size_t max_name_bytes = 4096;

inline std::uint64_t align8(std::uint64_t x) noexcept { return (x + 7) & ~std::uint64_t{7}; }

inline void put_u32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put_u64(std::vector<std::uint8_t>& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline std::uint32_t get_u32(const std::uint8_t* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline std::uint64_t get_u64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace detail

class checkpoint_writer {
public:
  explicit checkpoint_writer(std::string model_name) : model_(std::move(model_name)) {
    if (model_.empty() || model_.size() > detail::max_name_bytes)
      throw checkpoint_error("cnnzoo: a checkpoint needs a model name of 1 to 4096 bytes");
  }

  // Copies the values: the caller may keep training while the writer holds a consistent snapshot.
  template <class T>
    requires is_checkpoint_type_v<T>
  void add(std::string name, std::span<const T> values) {
    check_name(name);
    section s{{std::move(name), dtype_of<T>(), values.size(), 0}, {}};
    s.data.resize(values.size_bytes());
    if (!values.empty()) std::memcpy(s.data.data(), values.data(), values.size_bytes());
    sections_.push_back(std::move(s));
  }
  template <class T>
    requires is_checkpoint_type_v<T>
  void add(std::string name, const std::vector<T>& values) {
    add(std::move(name), std::span<const T>(values));
  }
  void add_bytes(std::string name, std::span<const std::uint8_t> bytes) { add(std::move(name), bytes); }
  void add_string(std::string name, std::string_view text) {
    add(std::move(name), std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  void add_u64(std::string name, std::uint64_t v) { add(std::move(name), std::span<const std::uint64_t>(&v, 1)); }
  void add_i64(std::string name, std::int64_t v) { add(std::move(name), std::span<const std::int64_t>(&v, 1)); }
  void add_f64(std::string name, double v) { add(std::move(name), std::span<const double>(&v, 1)); }

  const std::string& model() const noexcept { return model_; }

  // The whole file in memory (tests, small states).
  std::vector<std::uint8_t> to_bytes() const {
    std::vector<std::uint8_t> out;
    emit([&](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
    return out;
  }

  // Writes PATH atomically (core/files.hpp: an exclusive temporary, fsync, rename, fsync of the
  // directory). On any error the previous PATH is untouched and a write_error names the file and
  // the system's reason.
  void save_atomic(const std::filesystem::path& path, const save_options& opt = {}) const {
    write_atomically(path, "checkpoint", [&](auto sink) { emit(sink); }, opt);
  }

private:
  struct section {
    section_info info;
    std::vector<std::uint8_t> data;
  };

  void check_name(const std::string& name) const {
    if (name.empty() || name.size() > detail::max_name_bytes)
      throw checkpoint_error("cnnzoo: checkpoint section names must have 1 to 4096 bytes");
    for (const auto& s : sections_)
      if (s.info.name == name) throw checkpoint_error("cnnzoo: checkpoint section '" + name + "' was added twice");
  }

  // Streams the file to sink(pointer, size) in order, computing the CRC on the way.
  template <class Sink>
  void emit(Sink&& sink) const {
    std::uint64_t table = detail::header_bytes + model_.size();
    for (const auto& s : sections_) table += detail::section_entry_bytes + s.info.name.size();
    std::vector<std::uint64_t> offsets;
    std::uint64_t pos = detail::align8(table);
    for (const auto& s : sections_) {
      offsets.push_back(pos);
      pos = detail::align8(pos + s.data.size());
    }
    const std::uint64_t total = pos + 4;

    std::vector<std::uint8_t> head;
    head.reserve(static_cast<std::size_t>(detail::align8(table)));
    head.insert(head.end(), checkpoint_magic.begin(), checkpoint_magic.end());
    detail::put_u32(head, checkpoint_version);
    detail::put_u32(head, static_cast<std::uint32_t>(sections_.size()));
    detail::put_u64(head, total);
    detail::put_u32(head, static_cast<std::uint32_t>(model_.size()));
    detail::put_u32(head, 0);
    head.insert(head.end(), model_.begin(), model_.end());
    for (std::size_t i = 0; i < sections_.size(); ++i) {
      const auto& s = sections_[i].info;
      detail::put_u32(head, static_cast<std::uint32_t>(s.name.size()));
      detail::put_u32(head, static_cast<std::uint32_t>(s.type));
      detail::put_u64(head, s.count);
      detail::put_u64(head, offsets[i]);
      head.insert(head.end(), s.name.begin(), s.name.end());
    }
    head.resize(static_cast<std::size_t>(detail::align8(table)), 0);

    std::uint32_t crc = crc32(head);
    sink(head.data(), head.size());
    static constexpr std::array<std::uint8_t, 8> zeros{};
    for (const auto& s : sections_) {
      crc = crc32(s.data, crc);
      sink(s.data.data(), s.data.size());
      const std::size_t pad = static_cast<std::size_t>(detail::align8(s.data.size()) - s.data.size());
      crc = crc32(std::span(zeros.data(), pad), crc);
      sink(zeros.data(), pad);
    }
    std::array<std::uint8_t, 4> tail{};
    for (int i = 0; i < 4; ++i) tail[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
    sink(tail.data(), tail.size());
  }

  std::string model_;
  std::vector<section> sections_;
};

class checkpoint_reader {
public:
  // Reads and verifies PATH: magic, version, size, checksum, then the section table.
  static checkpoint_reader load(const std::filesystem::path& path) {
    return from_bytes(read_regular_file<checkpoint_error>(path, "checkpoint", max_checkpoint_bytes), path.string());
  }

  static checkpoint_reader from_bytes(std::vector<std::uint8_t> bytes, std::string source = "(in memory)") {
    checkpoint_reader r;
    r.bytes_ = std::move(bytes);
    r.source_ = std::move(source);
    r.verify_and_parse();
    return r;
  }

  const std::string& model() const noexcept { return model_; }
  std::uint32_t version() const noexcept { return version_; }
  const std::string& source() const noexcept { return source_; }
  const std::vector<section_info>& sections() const noexcept { return sections_; }

  void expect_model(std::string_view name) const {
    if (model_ != name)
      throw checkpoint_error("cnnzoo: checkpoint " + source_ + " is for model " + model_ + ", not " + std::string(name) +
                             "; resume it with --model " + model_ + ", or start " + std::string(name) +
                             " in a new output directory.");
  }

  bool has(std::string_view name) const noexcept { return find(name) != nullptr; }

  const section_info& section(std::string_view name) const {
    if (const auto* s = find(name)) return *s;
    std::string names;
    for (const auto& s : sections_) names += (names.empty() ? "" : ", ") + s.name;
    throw checkpoint_error("cnnzoo: checkpoint " + source_ + " has no section '" + std::string(name) +
                           "' (it has: " + (names.empty() ? "none" : names) + ")");
  }

  // A section's values; its dtype must be T's, and its count `expected_count` when given.
  template <class T>
    requires is_checkpoint_type_v<T>
  std::vector<T> get(std::string_view name, std::optional<std::uint64_t> expected_count = std::nullopt) const {
    const section_info& s = checked(name, dtype_of<T>(), expected_count);
    std::vector<T> out(static_cast<std::size_t>(s.count));
    if (s.count) std::memcpy(out.data(), bytes_.data() + s.offset, static_cast<std::size_t>(s.count) * sizeof(T));
    return out;
  }

  // Into caller storage (a parameter buffer); the count must equal out.size().
  template <class T>
    requires is_checkpoint_type_v<T>
  void read_into(std::string_view name, std::span<T> out) const {
    const section_info& s = checked(name, dtype_of<T>(), out.size());
    if (s.count) std::memcpy(out.data(), bytes_.data() + s.offset, out.size_bytes());
  }

  std::string get_string(std::string_view name) const {
    const section_info& s = checked(name, dtype::u8, std::nullopt);
    return std::string(reinterpret_cast<const char*>(bytes_.data() + s.offset), static_cast<std::size_t>(s.count));
  }
  std::uint64_t get_u64(std::string_view name) const { return get<std::uint64_t>(name, 1)[0]; }
  std::int64_t get_i64(std::string_view name) const { return get<std::int64_t>(name, 1)[0]; }
  double get_f64(std::string_view name) const { return get<double>(name, 1)[0]; }

private:
  const section_info* find(std::string_view name) const noexcept {
    for (const auto& s : sections_)
      if (s.name == name) return &s;
    return nullptr;
  }

  const section_info& checked(std::string_view name, dtype want, std::optional<std::uint64_t> count) const {
    const section_info& s = section(name);
    if (s.type != want)
      throw checkpoint_error("cnnzoo: section '" + s.name + "' of checkpoint " + source_ + " holds " + dtype_name(s.type) +
                             " values, not " + dtype_name(want));
    if (count && s.count != *count)
      throw checkpoint_error("cnnzoo: section '" + s.name + "' of checkpoint " + source_ + " holds " +
                             std::to_string(s.count) + " values, expected " + std::to_string(*count) +
                             " (was it written by a different model or configuration?)");
    return s;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw checkpoint_error("cnnzoo: checkpoint " + source_ + " " + what);
  }

  void verify_and_parse() {
    const std::size_t size = bytes_.size();
    const std::size_t magic_len = checkpoint_magic.size();
    const bool magic_prefix =
        std::equal(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(std::min(size, magic_len)), checkpoint_magic.begin());
    if (!magic_prefix)
      fail("is not a cnnzoo checkpoint: it does not start with \"CNNZOOCK\" (is it the right file?)");
    if (size < detail::header_bytes)
      fail("is truncated: expected at least " + std::to_string(detail::header_bytes) + " bytes, got " + std::to_string(size) +
           " (the write was interrupted; use an earlier checkpoint)");
    version_ = detail::get_u32(bytes_.data() + 8);
    if (version_ != checkpoint_version)
      fail("has format version " + std::to_string(version_) + ", but this build of cnnzoo reads version " +
           std::to_string(checkpoint_version) + "; use a matching cnnzoo version");
    const std::uint64_t expected = detail::get_u64(bytes_.data() + 16);
    if (size < expected)
      fail("is truncated: expected " + std::to_string(expected) + " bytes, got " + std::to_string(size) +
           " (the write was interrupted; use an earlier checkpoint)");
    if (size > expected)
      fail("is corrupt: expected " + std::to_string(expected) + " bytes, got " + std::to_string(size) +
           " (extra data after the end)");
    if (expected < detail::header_bytes + 4) fail("is corrupt: its header gives an impossible size");
    const std::uint32_t stored = detail::get_u32(bytes_.data() + size - 4);
    const std::uint32_t actual = crc32(std::span(bytes_.data(), size - 4));
    if (stored != actual) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "stored %08x, computed %08x", stored, actual);
      fail(std::string("is corrupt: checksum mismatch (") + buf + "); use an earlier checkpoint");
    }

    // The checksum matched, so what follows only fails for files written by something else.
    const std::size_t data_end = size - 4;
    const std::uint32_t count = detail::get_u32(bytes_.data() + 12);
    const std::uint32_t name_len = detail::get_u32(bytes_.data() + 24);
    std::size_t pos = detail::header_bytes;
    auto need = [&](std::uint64_t n) {
      if (n > data_end - pos) fail("is corrupt: its section table runs past the end of the file");
    };
    need(name_len);
    model_.assign(reinterpret_cast<const char*>(bytes_.data() + pos), name_len);
    pos += name_len;
    sections_.reserve(std::min<std::uint32_t>(count, 1u << 16));
    for (std::uint32_t i = 0; i < count; ++i) {
      need(detail::section_entry_bytes);
      section_info s;
      const std::uint32_t len = detail::get_u32(bytes_.data() + pos);
      const std::uint32_t type = detail::get_u32(bytes_.data() + pos + 4);
      s.count = detail::get_u64(bytes_.data() + pos + 8);
      s.offset = detail::get_u64(bytes_.data() + pos + 16);
      pos += detail::section_entry_bytes;
      need(len);
      s.name.assign(reinterpret_cast<const char*>(bytes_.data() + pos), len);
      pos += len;
      if (type < 1 || type > 5) fail("is corrupt: section '" + s.name + "' has an unknown dtype " + std::to_string(type));
      s.type = static_cast<dtype>(type);
      const std::uint64_t elem = dtype_size(s.type);
      if (s.offset > data_end || s.count > (data_end - s.offset) / elem)
        fail("is corrupt: section '" + s.name + "' lies outside the file");
      sections_.push_back(std::move(s));
    }
  }

  std::vector<std::uint8_t> bytes_;
  std::string source_;
  std::string model_;
  std::uint32_t version_ = 0;
  std::vector<section_info> sections_;
};

}  // namespace cnnzoo::train
