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
// Saving is atomic: the file is written to PATH.tmp, flushed and fsync'ed, then renamed over
// PATH (and the directory fsync'ed), so a crash at any moment leaves either the previous
// checkpoint or the new one, never a mixture. POSIX only.
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

// Thrown only by the test hooks of save_options, standing in for a crash.
class simulated_crash : public checkpoint_error {
public:
  using checkpoint_error::checkpoint_error;
};

inline constexpr std::string_view checkpoint_magic = "CNNZOOCK";
inline constexpr std::uint32_t checkpoint_version = 1;

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

// Test hooks that stand in for a crash during save_atomic.
struct save_options {
  std::optional<std::size_t> crash_after_bytes;  // write this many bytes of PATH.tmp, then "crash"
  bool crash_before_rename = false;              // write PATH.tmp completely, then "crash"
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

inline std::string errno_text(int err) { return std::strerror(err); }

}  // namespace detail

// Writes a file through PATH.tmp: `produce(sink)` calls sink(bytes, n) for its bytes; the
// temporary is fsync'ed and renamed over PATH, and the directory fsync'ed, so a crash at any
// moment leaves the previous file or the new one. On any error the previous PATH is untouched and
// an Error names the file (`what`: "checkpoint", "weights file") and the system's reason.
template <class Error, class Produce>
void write_atomically(const std::filesystem::path& path, std::string_view what, Produce&& produce,
                      const save_options& opt = {}) {
  namespace fs = std::filesystem;
  const std::string kind(what);
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error("cnnzoo: cannot create " + kind + " file " + tmp.string() + ": " + detail::errno_text(errno) +
                " (check that the output directory exists and is writable)");
  struct fd_guard {  // closes on every path; removes the partial file unless a crash is simulated
    int fd;
    const fs::path& tmp;
    bool remove = true;
    ~fd_guard() {
      if (fd >= 0) ::close(fd);
      if (remove) { std::error_code e; fs::remove(tmp, e); }
    }
  } guard{fd, tmp};

  std::size_t written = 0;
  produce([&](const std::uint8_t* p, std::size_t n) {
    if (opt.crash_after_bytes && written + n > *opt.crash_after_bytes) n = *opt.crash_after_bytes - written;
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw Error("cnnzoo: writing " + kind + " " + tmp.string() + " failed: " + detail::errno_text(errno) +
                    (errno == ENOSPC ? " (the disk is full; free space and retry)" : "") + ". The previous " + kind +
                    " " + path.string() + " is untouched.");
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      written += static_cast<std::size_t>(w);
    }
    if (opt.crash_after_bytes && written >= *opt.crash_after_bytes) {
      guard.remove = false;
      throw simulated_crash("cnnzoo: simulated crash after writing " + std::to_string(written) + " bytes of " + tmp.string());
    }
  });
  if (::fsync(fd) != 0)
    throw Error("cnnzoo: flushing " + kind + " " + tmp.string() + " to disk failed: " + detail::errno_text(errno));
  ::close(guard.fd);
  guard.fd = -1;
  if (opt.crash_before_rename) {
    guard.remove = false;
    throw simulated_crash("cnnzoo: simulated crash before renaming " + tmp.string() + " to " + path.string());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("cnnzoo: cannot rename " + tmp.string() + " to " + path.string() + ": " + detail::errno_text(errno));
  guard.remove = false;
  // Make the rename itself durable; failure here only weakens the guarantee, it loses nothing.
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

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

  // Writes PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory. On any error the
  // previous PATH is untouched and the error names the file and the system's reason.
  void save_atomic(const std::filesystem::path& path, const save_options& opt = {}) const {
    write_atomically<checkpoint_error>(path, "checkpoint", [&](auto sink) { emit(sink); }, opt);
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
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw checkpoint_error("cnnzoo: checkpoint " + path.string() + " does not exist (or is not a regular file)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw checkpoint_error("cnnzoo: cannot open checkpoint " + path.string() + " for reading");
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw checkpoint_error("cnnzoo: cannot read the size of checkpoint " + path.string() + ": " + ec.message());
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<std::uintmax_t>(in.gcount()) != size)
      throw checkpoint_error("cnnzoo: reading checkpoint " + path.string() + " stopped after " +
                             std::to_string(in.gcount()) + " of " + std::to_string(size) + " bytes");
    return from_bytes(std::move(bytes), path.string());
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
