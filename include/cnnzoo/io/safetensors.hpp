#pragma once
// The safetensors format: weights that PyTorch, JAX, ONNX tooling and Hugging Face read.
//
// Layout: u64 little-endian N, N bytes of JSON, then the tensors' bytes. The JSON maps each tensor
// name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} (offsets into the bytes
// after the header) and may hold "__metadata__", a map of strings. cnnzoo writes the tensors in the
// order given, packed, the header padded with spaces to a multiple of 8 bytes.
//
// Reading refuses, naming the file and the tensor, anything that is not exactly such a file: a
// header longer than the file or than `max_header_bytes`, JSON that is not this schema, an unknown
// dtype, a shape whose byte count differs from its offsets, offsets past the data, tensors that
// overlap, and bytes that belong to no tensor. Values are converted to float on reading (F32, F64,
// F16, BF16); writing stores F32, F16 or BF16 (rounded to nearest even).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "../core/files.hpp"

namespace cnnzoo::io {

static_assert(std::endian::native == std::endian::little,
              "cnnzoo: safetensors stores little-endian values; big-endian hosts are not supported");

// A weight file that cannot be read, written or used; the message names the file and the tensor.
class weights_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

enum class stored_dtype { f32, f16, bf16, f64, i64 };

inline std::string_view dtype_label(stored_dtype t) noexcept {
  switch (t) {
    case stored_dtype::f32: return "F32";
    case stored_dtype::f16: return "F16";
    case stored_dtype::bf16: return "BF16";
    case stored_dtype::f64: return "F64";
    case stored_dtype::i64: return "I64";
  }
  return "?";
}
inline std::size_t dtype_bytes(stored_dtype t) noexcept {
  return t == stored_dtype::f16 || t == stored_dtype::bf16 ? 2 : t == stored_dtype::f32 ? 4 : 8;
}
// Parses "F32", "F16", "BF16", "F64", "I64"; false for any other.
inline bool parse_dtype(std::string_view s, stored_dtype& out) noexcept {
  for (stored_dtype t : {stored_dtype::f32, stored_dtype::f16, stored_dtype::bf16, stored_dtype::f64, stored_dtype::i64})
    if (dtype_label(t) == s) { out = t; return true; }
  return false;
}

// ---- half precisions, rounded to nearest even ----------------------------------------------------
inline std::uint16_t to_bf16(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if (std::isnan(f)) return static_cast<std::uint16_t>((u >> 16) | 0x40);  // stays a (quiet) NaN
  return static_cast<std::uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}
inline float from_bf16(std::uint16_t h) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

inline std::uint16_t to_f16(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (u >> 16) & 0x8000;
  const std::uint32_t a = u & 0x7FFFFFFF;
  if (a > 0x7F800000) return static_cast<std::uint16_t>(sign | 0x7E00);         // NaN
  if (a >= 0x477FF000) return static_cast<std::uint16_t>(sign | 0x7C00);        // rounds to inf
  if (a < 0x38800000) {                                                         // subnormal or zero
    // Scale into the subnormal range with float arithmetic, which rounds to nearest even.
    const float scaled = std::bit_cast<float>(a) * 16777216.0f;                 // 2^24
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(scaled)));
  }
  const std::uint32_t rounded = a + 0xFFF + ((a >> 13) & 1);
  return static_cast<std::uint16_t>(sign | ((rounded - 0x38000000) >> 13));
}
inline float from_f16(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  if (exp == 0) return std::bit_cast<float>(sign) + (sign ? -1.0f : 1.0f) * static_cast<float>(man) / 16777216.0f;
  if (exp == 31) return std::bit_cast<float>(sign | 0x7F800000 | (man << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
}

// ---- writing ----------------------------------------------------------------------------------------
class safetensors_writer {
public:
  void set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

  // Stores `values` (row-major, of `shape`) as `as`: F32, F16 or BF16.
  void add(std::string name, std::vector<std::int64_t> shape, std::span<const float> values,
           stored_dtype as = stored_dtype::f32) {
    check(name, shape, values.size());
    std::vector<std::uint8_t> bytes(values.size() * dtype_bytes(as));
    if (as == stored_dtype::f32) {
      if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    } else if (as == stored_dtype::f16 || as == stored_dtype::bf16) {
      for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint16_t h = as == stored_dtype::f16 ? to_f16(values[i]) : to_bf16(values[i]);
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
    } else {
      throw weights_error("cnnzoo: float tensors are stored as F32, F16 or BF16, not " + std::string(dtype_label(as)));
    }
    tensors_.push_back({std::move(name), as, std::move(shape), std::move(bytes)});
  }
  void add(std::string name, std::vector<std::int64_t> shape, std::span<const std::int64_t> values) {
    check(name, shape, values.size());
    std::vector<std::uint8_t> bytes(values.size_bytes());
    if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    tensors_.push_back({std::move(name), stored_dtype::i64, std::move(shape), std::move(bytes)});
  }

  // The header, then the tensors' bytes, to sink(const uint8_t*, size_t).
  template <class Sink>
  void emit(Sink&& sink) const {
    nlohmann::ordered_json head = nlohmann::ordered_json::object();
    if (!metadata_.empty()) head["__metadata__"] = metadata_;
    std::uint64_t at = 0;
    for (const auto& t : tensors_) {
      head[t.name] = {{"dtype", dtype_label(t.dtype)}, {"shape", t.shape}, {"data_offsets", {at, at + t.bytes.size()}}};
      at += t.bytes.size();
    }
    std::string text = head.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::uint8_t length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
    sink(length, 8);
    sink(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    for (const auto& t : tensors_) sink(t.bytes.data(), t.bytes.size());
  }
  std::vector<std::uint8_t> to_bytes() const {
    std::vector<std::uint8_t> out;
    emit([&](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
    return out;
  }
  // Atomic, as checkpoints are (core/files.hpp): the previous PATH survives any failure.
  void save(const std::filesystem::path& path) const {
    write_atomically(path, "weights file", [&](auto sink) { emit(sink); });
  }

private:
  struct tensor {
    std::string name;
    stored_dtype dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> bytes;
  };
  void check(const std::string& name, const std::vector<std::int64_t>& shape, std::size_t count) const {
    if (name.empty() || name == "__metadata__")
      throw weights_error("cnnzoo: a safetensors tensor needs a name other than '' and '__metadata__'");
    for (const auto& t : tensors_)
      if (t.name == name) throw weights_error("cnnzoo: tensor '" + name + "' was added twice to a safetensors file");
    std::uint64_t want = 1;
    for (std::int64_t d : shape) {
      if (d < 0 || d > (std::int64_t{1} << 40))
        throw weights_error("cnnzoo: tensor '" + name + "' has a dimension of " + std::to_string(d));
      want *= static_cast<std::uint64_t>(d);
      if (want > (std::uint64_t{1} << 40)) throw weights_error("cnnzoo: tensor '" + name + "' is too large");
    }
    if (want != count)
      throw weights_error("cnnzoo: tensor '" + name + "' has " + std::to_string(count) +
                          " values, its shape holds " + std::to_string(want));
  }
  std::map<std::string, std::string> metadata_;
  std::vector<tensor> tensors_;
};

// ---- reading ------------------------------------------------------------------------------------------
struct stored_tensor {
  std::string name;
  stored_dtype dtype = stored_dtype::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // into the data, after the header
  std::uint64_t count() const noexcept {
    return std::accumulate(shape.begin(), shape.end(), std::uint64_t{1},
                           [](std::uint64_t a, std::int64_t d) { return a * static_cast<std::uint64_t>(d); });
  }
};

struct read_limits {
  std::uint64_t max_header_bytes = 100u << 20;  // as the reference implementation: 100 MiB
};

class safetensors_reader {
public:
  // Opens PATH, reads and checks its header; tensor values are read on demand.
  explicit safetensors_reader(const std::filesystem::path& path, read_limits limits = {}) : path_(path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status))
      throw weights_error("cnnzoo: weights file " + name() + " does not exist");
    if (!std::filesystem::is_regular_file(status))
      throw weights_error("cnnzoo: weights file " + name() + " is not a regular file");
    file_bytes_ = std::filesystem::file_size(path, ec);
    if (ec) throw weights_error("cnnzoo: cannot read the size of weights file " + name() + ": " + ec.message());
    in_.open(path, std::ios::binary);
    if (!in_) throw weights_error("cnnzoo: cannot open weights file " + name() + " for reading");
    if (file_bytes_ < 8)
      throw weights_error("cnnzoo: " + name() + " is not a safetensors file: " + std::to_string(file_bytes_) +
                          " bytes, fewer than the 8 that give its header's length");
    std::uint8_t len[8];
    read_at(0, len, 8);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
    if (n > file_bytes_ - 8)
      throw weights_error("cnnzoo: " + name() + " is not a safetensors file (or is truncated): its header claims " +
                          std::to_string(n) + " bytes, the file has " + std::to_string(file_bytes_ - 8) + " after the length");
    if (n > limits.max_header_bytes)
      throw weights_error("cnnzoo: " + name() + ": a header of " + std::to_string(n) + " bytes is over the limit of " +
                          std::to_string(limits.max_header_bytes));
    std::string text(static_cast<std::size_t>(n), '\0');
    read_at(8, text.data(), text.size());
    data_at_ = 8 + n;
    parse(text);
  }

  const std::filesystem::path& path() const noexcept { return path_; }
  // Tensors in the order of their bytes in the file.
  const std::vector<stored_tensor>& tensors() const noexcept { return tensors_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  std::string metadata_or(const std::string& key, std::string fallback = {}) const {
    const auto it = metadata_.find(key);
    return it == metadata_.end() ? fallback : it->second;
  }
  const stored_tensor* find(std::string_view tensor_name) const noexcept {
    for (const auto& t : tensors_)
      if (t.name == tensor_name) return &t;
    return nullptr;
  }

  // A floating-point tensor's values as float (exact from F32 and the half types; F64 rounds).
  std::vector<float> read_floats(const stored_tensor& t) const {
    std::vector<std::uint8_t> raw = read_bytes(t);
    std::vector<float> out(static_cast<std::size_t>(t.count()));
    switch (t.dtype) {
      case stored_dtype::f32: if (!out.empty()) std::memcpy(out.data(), raw.data(), raw.size()); break;
      case stored_dtype::f64:
        for (std::size_t i = 0; i < out.size(); ++i) {
          double d;
          std::memcpy(&d, raw.data() + 8 * i, 8);
          out[i] = static_cast<float>(d);
        }
        break;
      case stored_dtype::f16:
      case stored_dtype::bf16:
        for (std::size_t i = 0; i < out.size(); ++i) {
          std::uint16_t h;
          std::memcpy(&h, raw.data() + 2 * i, 2);
          out[i] = t.dtype == stored_dtype::f16 ? from_f16(h) : from_bf16(h);
        }
        break;
      case stored_dtype::i64:
        throw weights_error("cnnzoo: " + name() + ": tensor '" + t.name + "' holds I64 integers, not floating-point values");
    }
    return out;
  }
  std::vector<std::int64_t> read_ints(const stored_tensor& t) const {
    if (t.dtype != stored_dtype::i64)
      throw weights_error("cnnzoo: " + name() + ": tensor '" + t.name + "' is " + std::string(dtype_label(t.dtype)) + ", not I64");
    std::vector<std::uint8_t> raw = read_bytes(t);
    std::vector<std::int64_t> out(static_cast<std::size_t>(t.count()));
    if (!out.empty()) std::memcpy(out.data(), raw.data(), raw.size());
    return out;
  }
  // By name, refusing a missing tensor.
  const stored_tensor& at(std::string_view tensor_name) const {
    if (const auto* t = find(tensor_name)) return *t;
    throw weights_error("cnnzoo: " + name() + " has no tensor '" + std::string(tensor_name) + "'");
  }

private:
  std::string name() const { return path_.string(); }
  void read_at(std::uint64_t offset, void* dst, std::size_t n) const {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in_.gcount()) != n)
      throw weights_error("cnnzoo: reading " + name() + " stopped at byte " + std::to_string(offset + in_.gcount()) +
                          " of " + std::to_string(file_bytes_));
  }
  std::vector<std::uint8_t> read_bytes(const stored_tensor& t) const {
    std::vector<std::uint8_t> raw(static_cast<std::size_t>(t.end - t.begin));
    read_at(data_at_ + t.begin, raw.data(), raw.size());
    return raw;
  }
  [[noreturn]] void bad(const std::string& what) const {
    throw weights_error("cnnzoo: " + name() + " is not a valid safetensors file: " + what);
  }
  // A value of the file for a message: short, and never a recursive dump of a hostile nesting.
  static std::string brief(const nlohmann::json& j) {
    if (j.is_primitive()) {
      std::string s = j.dump();
      return s.size() > 40 ? s.substr(0, 40) + "..." : s;
    }
    bool flat = j.size() <= 8;
    for (const auto& x : j) flat = flat && x.is_primitive();
    return flat ? brief_flat(j) : std::string("(a JSON ") + j.type_name() + " of " + std::to_string(j.size()) + " elements)";
  }
  static std::string brief_flat(const nlohmann::json& j) {
    std::string s = "[";
    for (const auto& x : j) s += (s.size() > 1 ? "," : "") + brief(x);
    return s + "]";
  }
  static bool as_u64(const nlohmann::json& j, std::uint64_t& out) {
    if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0)) return false;
    out = j.get<std::uint64_t>();
    return true;
  }

  void parse(const std::string& text) {
    nlohmann::json head;
    try {
      head = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      // parse_error, and out_of_range for a number no double holds ("data_offsets":[960e992]).
      bad("its header is not JSON (" + std::string(e.what()) + ")");
    }
    if (!head.is_object()) bad("its header is not a JSON object");
    const std::uint64_t data_bytes = file_bytes_ - data_at_;
    for (const auto& [key, value] : head.items()) {
      if (key == "__metadata__") {
        if (!value.is_object()) bad("__metadata__ is not an object of strings");
        for (const auto& [k, v] : value.items()) {
          if (!v.is_string()) bad("__metadata__ entry '" + k + "' is not a string");
          metadata_[k] = v.get<std::string>();
        }
        continue;
      }
      const std::string where = "tensor '" + key + "'";
      if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets"))
        bad(where + " needs dtype, shape and data_offsets");
      stored_tensor t;
      t.name = key;
      if (!value["dtype"].is_string() || !parse_dtype(value["dtype"].get<std::string>(), t.dtype))
        bad(where + " has dtype " + brief(value["dtype"]) + "; cnnzoo reads F32, F64, F16, BF16 and I64");
      if (!value["shape"].is_array()) bad(where + " has a shape that is not a list");
      std::uint64_t count = 1;
      for (const auto& d : value["shape"]) {
        std::uint64_t v = 0;
        if (!as_u64(d, v) || v > (std::uint64_t{1} << 40)) bad(where + " has shape " + brief(value["shape"]));
        t.shape.push_back(static_cast<std::int64_t>(v));
        count = v == 0 ? 0 : count;
        if (count && count > (std::uint64_t{1} << 40) / v) bad(where + " has shape " + brief(value["shape"]) + ", too large");
        count *= v;
      }
      const auto& off = value["data_offsets"];
      if (!off.is_array() || off.size() != 2 || !as_u64(off[0], t.begin) || !as_u64(off[1], t.end) || t.begin > t.end)
        bad(where + " has data_offsets " + brief(off) + "; they are [begin, end] with begin <= end");
      if (t.end > data_bytes)
        bad(where + " has data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "] past the " +
            std::to_string(data_bytes) + " bytes of data (is the file truncated?)");
      if (t.end - t.begin != count * dtype_bytes(t.dtype))
        bad(where + ": shape " + brief(value["shape"]) + " of " + std::string(dtype_label(t.dtype)) + " needs " +
            std::to_string(count * dtype_bytes(t.dtype)) + " bytes, data_offsets give " + std::to_string(t.end - t.begin));
      tensors_.push_back(std::move(t));
    }
    std::stable_sort(tensors_.begin(), tensors_.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
    std::uint64_t covered = 0;
    std::string previous;
    for (const auto& t : tensors_) {
      if (t.begin == t.end) continue;
      if (t.begin < covered)
        bad("tensors '" + previous + "' and '" + t.name + "' overlap (bytes " + std::to_string(t.begin) + " to " +
            std::to_string(std::min(covered, t.end)) + ")");
      if (t.begin > covered)
        bad("bytes " + std::to_string(covered) + " to " + std::to_string(t.begin) + " of the data belong to no tensor");
      covered = t.end;
      previous = t.name;
    }
    if (covered != data_bytes)
      bad("the last " + std::to_string(data_bytes - covered) + " bytes of the data belong to no tensor");
  }

  std::filesystem::path path_;
  mutable std::ifstream in_;
  std::uint64_t file_bytes_ = 0, data_at_ = 0;
  std::vector<stored_tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace cnnzoo::io
