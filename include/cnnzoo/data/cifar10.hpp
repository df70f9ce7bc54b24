#pragma once
// The CIFAR-10 reader: the official binary format, exactly as cifar-10-binary.tar.gz holds it.
//
// Each file is a sequence of 3,073-byte records: one label byte (0-9), then the 32x32 red plane,
// the green plane and the blue plane, each row-major. Images therefore arrive already in CHW
// order, which is the order the host augmentation works in, so a load is one read per file and
// no reshuffling of bytes.
//
// Bad data must never crash a run or load silently in part: every check
// here throws `data_error` with the absolute path that was looked at, what was expected, and
// what to do about it.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <cerrno>
#include <fstream>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "../core/error.hpp"
#include "../core/files.hpp"

namespace cnnzoo::data {

inline constexpr int cifar10_channels = 3;
inline constexpr int cifar10_height = 32;
inline constexpr int cifar10_width = 32;
inline constexpr int cifar10_classes = 10;
inline constexpr std::size_t cifar10_image_bytes = 3 * 32 * 32;             // 3,072
inline constexpr std::size_t cifar10_record_bytes = 1 + cifar10_image_bytes;  // 3,073
inline constexpr int cifar10_train_batches = 5;

// The class names of batches.meta.txt, used when that file is absent.
inline const std::array<std::string, 10>& cifar10_default_class_names() {
  static const std::array<std::string, 10> names{"airplane", "automobile", "bird", "cat", "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

// Anything wrong with the data on disk. The message is meant to be printed as it is.
class data_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

// A set of CIFAR-10 images in memory: `pixels` holds size() images of 3x32x32 bytes, CHW.
struct dataset {
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> labels;

  std::size_t size() const noexcept { return labels.size(); }
  bool empty() const noexcept { return labels.empty(); }
  std::span<const std::uint8_t> image(std::size_t i) const {
    return {pixels.data() + i * cifar10_image_bytes, cifar10_image_bytes};
  }
  std::span<std::uint8_t> image(std::size_t i) {
    return {pixels.data() + i * cifar10_image_bytes, cifar10_image_bytes};
  }
  void reserve(std::size_t n) {
    pixels.reserve(n * cifar10_image_bytes);
    labels.reserve(n);
  }
  void append(const dataset& other) {
    pixels.insert(pixels.end(), other.pixels.begin(), other.pixels.end());
    labels.insert(labels.end(), other.labels.begin(), other.labels.end());
  }
  // Records [first, first + count) as a new set.
  dataset slice(std::size_t first, std::size_t count) const {
    if (first > size() || count > size() - first)
      throw data_error("cnnzoo: dataset slice [" + std::to_string(first) + ", " +
                       std::to_string(first + count) + ") is outside a set of " +
                       std::to_string(size()) + " images");
    dataset out;
    out.pixels.assign(pixels.begin() + static_cast<std::ptrdiff_t>(first * cifar10_image_bytes),
                      pixels.begin() + static_cast<std::ptrdiff_t>((first + count) * cifar10_image_bytes));
    out.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(first),
                      labels.begin() + static_cast<std::ptrdiff_t>(first + count));
    return out;
  }
};

inline std::string train_batch_name(int index) { return "data_batch_" + std::to_string(index) + ".bin"; }
inline constexpr const char* test_batch_name = "test_batch.bin";
inline constexpr const char* meta_file_name = "batches.meta.txt";

// --data DIR, else $CNNZOO_DATA, else data/cifar10 (relative to the working directory).
inline std::filesystem::path resolve_data_dir(const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) return std::filesystem::path(*flag);
  if (const char* env = std::getenv("CNNZOO_DATA"); env != nullptr && *env != '\0')
    return std::filesystem::path(env);
  return std::filesystem::path("data") / "cifar10";
}

namespace detail {

inline std::string absolute_string(const std::filesystem::path& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return (ec ? p : abs.lexically_normal()).string();
}

// What to tell a user who has no data: the layout, and the two ways to get it.
inline std::string how_to_get_data() {
  return "Expected layout (the official CIFAR-10 binary version): DIR/data_batch_1.bin ... "
         "DIR/data_batch_5.bin, each a whole number of 3,073-byte records (1 label byte + 3,072 "
         "pixel bytes: R, G, B planes of 32x32, row-major), plus optional DIR/test_batch.bin and "
         "DIR/batches.meta.txt.\n"
         "To get the data:\n"
         "  - on a machine with internet access: scripts/download-cifar10.sh (fetches the official "
         "cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, "
         "checks its MD5 and extracts it into data/cifar10)\n"
         "  - from another copy of CIFAR-10: write it in the format above (README.md, 'Getting the data')\n"
         "Point cnnzoo at another directory with --data DIR or the CNNZOO_DATA environment variable.";
}

inline bool is_regular(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

// Whether a data file is there: false only when nothing is at `p` at all. Anything else that is
// not a readable regular file (a directory, FIFO or device; a dangling symlink; an unreadable
// directory on the way) is an error that says so, never "missing".
inline bool data_file_present(const std::filesystem::path& p) {
  struct stat st{};
  if (::stat(p.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      throw data_error("cnnzoo: CIFAR-10 path " + absolute_string(p) + " is " + files::kind_of(st.st_mode) +
                       ", not a regular file. Replace it with the data file or remove it.");
    return true;
  }
  const int err = errno;
  if (err == ENOENT || err == ENOTDIR) {
    struct stat lst{};
    if (::lstat(p.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      std::error_code ec;
      throw data_error("cnnzoo: CIFAR-10 path " + absolute_string(p) + " is a symbolic link to " +
                       std::filesystem::read_symlink(p, ec).string() + ", which does not exist.");
    }
    return false;
  }
  throw data_error("cnnzoo: cannot examine CIFAR-10 path " + absolute_string(p) + ": " + files::errno_text(err) +
                   (err == EACCES ? " (check the permissions of the data directory)" : ""));
}

// The official tarball extracts into cifar-10-batches-bin/; accept DIR pointing one level above.
inline std::filesystem::path locate_batches(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec))
    throw data_error("cnnzoo: CIFAR-10 data directory " + absolute_string(dir) +
                     " does not exist.\n" + how_to_get_data());
  if (!std::filesystem::is_directory(dir, ec))
    throw data_error("cnnzoo: CIFAR-10 data path " + absolute_string(dir) +
                     " is not a directory.\n" + how_to_get_data());
  const auto nested = dir / "cifar-10-batches-bin";
  if (!is_regular(dir / train_batch_name(1)) && !is_regular(dir / test_batch_name) &&
      is_regular(nested / train_batch_name(1)))
    return nested;
  return dir;
}

inline std::uint64_t file_bytes(const std::filesystem::path& p) {
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0)
    throw data_error("cnnzoo: cannot examine CIFAR-10 file " + absolute_string(p) + ": " + files::errno_text(errno));
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace detail

// The largest data file the reader accepts: 2 GiB, about 700,000 records (the official files have
// 10,000). Larger is not a CIFAR-10 file; reading it would only exhaust memory.
inline constexpr std::uint64_t max_batch_file_bytes = std::uint64_t{1} << 31;
// batches.meta.txt is ten short lines.
inline constexpr std::uint64_t max_meta_file_bytes = 64 * 1024;

// Records from the bytes of a data file (`where` names it in messages). Bytes that are not a whole
// number of records, or a label outside 0-9, are refused: both mean the file is not what it claims.
inline dataset parse_batch(std::span<const std::uint8_t> raw, const std::string& where) {
  const std::size_t bytes = raw.size();
  if (bytes == 0)
    throw data_error("cnnzoo: CIFAR-10 file " + where +
                     " is empty. Re-create or re-download it.\n" + detail::how_to_get_data());
  if (bytes % cifar10_record_bytes != 0)
    throw data_error("cnnzoo: CIFAR-10 file " + where + " has " + std::to_string(bytes) +
                     " bytes, which is not a whole number of 3,073-byte records (" +
                     std::to_string(bytes / cifar10_record_bytes) + " records and " +
                     std::to_string(bytes % cifar10_record_bytes) +
                     " bytes left over). The file is truncated or not in the CIFAR-10 binary "
                     "format; re-create or re-download it.");
  const std::size_t n = bytes / cifar10_record_bytes;
  dataset out;
  out.labels.resize(n);
  out.pixels.resize(n * cifar10_image_bytes);
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* rec = raw.data() + r * cifar10_record_bytes;
    if (rec[0] >= cifar10_classes)
      throw data_error("cnnzoo: CIFAR-10 file " + where + ", record " + std::to_string(r) +
                       " (byte offset " + std::to_string(r * cifar10_record_bytes) + ") has label " +
                       std::to_string(rec[0]) +
                       "; labels must be 0-9. The file is corrupt or not in the CIFAR-10 binary "
                       "format; re-create or re-download it.");
    out.labels[r] = rec[0];
    std::copy(rec + 1, rec + cifar10_record_bytes, out.pixels.begin() + static_cast<std::ptrdiff_t>(r * cifar10_image_bytes));
  }
  return out;
}

// Reads one data file: a regular file (checked without blocking: a FIFO or device is refused) of
// at most max_batch_file_bytes, parsed by parse_batch.
inline dataset read_batch_file(const std::filesystem::path& path) {
  const std::string where = detail::absolute_string(path);
  if (!detail::data_file_present(path))
    throw data_error("cnnzoo: CIFAR-10 file " + where + " does not exist.\n" + detail::how_to_get_data());
  const auto raw = read_regular_file<data_error>(path, "CIFAR-10 file", max_batch_file_bytes);
  return parse_batch(raw, where);
}

// What a data directory holds, examined without reading it: the files a load will read, in order,
// and their sizes, so that a caller can check the memory a run needs before loading anything.
struct data_files {
  std::filesystem::path base;                    // DIR, or DIR/cifar-10-batches-bin
  std::vector<std::filesystem::path> train;      // data_batch_1.bin ... that are present, in order
  std::vector<std::string> missing;              // training files that are not
  std::optional<std::filesystem::path> test;     // test_batch.bin, if present
  std::uint64_t train_bytes = 0, test_bytes = 0;

  std::size_t train_images() const noexcept { return static_cast<std::size_t>(train_bytes / cifar10_record_bytes); }
  std::size_t test_images() const noexcept { return static_cast<std::size_t>(test_bytes / cifar10_record_bytes); }
};

// How load_train treats a directory without all five training files.
enum class missing_batches {
  refuse,  // the default: a partial copy stops the run, naming what is missing
  allow,   // train on data_batch_1 .. data_batch_k (k < 5) when the later ones are absent
};

// Examines DIR. Refuses a directory without data_batch_1.bin, a gap (data_batch_3 without
// data_batch_2), and, unless `missing` is allow, any absent training file; refuses any data path
// that exists but is not a regular file, or is over max_batch_file_bytes.
inline data_files examine(const std::filesystem::path& dir, missing_batches missing = missing_batches::refuse) {
  data_files f;
  f.base = detail::locate_batches(dir);
  std::vector<std::string> present;
  for (int b = 1; b <= cifar10_train_batches; ++b) {
    const auto p = f.base / train_batch_name(b);
    if (detail::data_file_present(p)) {
      if (!f.missing.empty())
        throw data_error("cnnzoo: CIFAR-10 directory " + detail::absolute_string(f.base) + " is incomplete: it has " +
                         train_batch_name(b) + " but is missing " + f.missing.front() +
                         ". Re-create or re-download the data.\n" + detail::how_to_get_data());
      f.train.push_back(p);
      present.push_back(train_batch_name(b));
    } else {
      f.missing.push_back(train_batch_name(b));
    }
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
    return s;
  };
  if (f.train.empty())
    throw data_error("cnnzoo: no CIFAR-10 training data in " + detail::absolute_string(f.base) + ": missing " +
                     list(f.missing) + ".\n" + detail::how_to_get_data());
  if (!f.missing.empty() && missing == missing_batches::refuse)
    throw data_error("cnnzoo: CIFAR-10 directory " + detail::absolute_string(f.base) + " is incomplete: it has " +
                     list(present) + " but not " + list(f.missing) +
                     ". Re-create or re-download the data, or allow a partial set explicitly "
                     "(cnnzoo-train --partial-data) to train on the files present.");
  for (const auto& p : f.train) {
    const std::uint64_t n = detail::file_bytes(p);
    if (n > max_batch_file_bytes)
      throw data_error("cnnzoo: CIFAR-10 file " + detail::absolute_string(p) + " has " + std::to_string(n) +
                       " bytes, more than the " + std::to_string(max_batch_file_bytes) +
                       " a data file can plausibly have (the official ones have 30,730,000); is it the right file?");
    f.train_bytes += n;
  }
  if (detail::data_file_present(f.base / test_batch_name)) {
    f.test = f.base / test_batch_name;
    f.test_bytes = detail::file_bytes(*f.test);
  }
  return f;
}

// The training files of DIR that are not there.
inline std::vector<std::string> missing_train_batches(const std::filesystem::path& dir) {
  return examine(dir, missing_batches::allow).missing;
}

// Loads data_batch_1.bin .. data_batch_5.bin in order (see `examine` for what is refused).
inline dataset load_train(const std::filesystem::path& dir, missing_batches missing = missing_batches::refuse) {
  const data_files f = examine(dir, missing);
  dataset all;
  all.reserve(f.train_images());
  for (const auto& p : f.train) all.append(read_batch_file(p));
  return all;
}

// test_batch.bin, or nothing when nothing is at that path (the JPEG copy of the workspace has no
// test split; the trainer then validates on a held-out part of the training set). A
// test_batch.bin that is there but is not a readable regular file is an error, not "absent".
inline std::optional<dataset> load_test(const std::filesystem::path& dir) {
  const auto base = detail::locate_batches(dir);
  if (!detail::data_file_present(base / test_batch_name)) return std::nullopt;
  return read_batch_file(base / test_batch_name);
}

// Class names from the text of batches.meta.txt (one per line); the standard ten unless it has
// exactly ten non-empty lines.
inline std::vector<std::string> parse_class_names(std::string_view text) {
  const auto& fallback = cifar10_default_class_names();
  std::vector<std::string> names;
  std::size_t pos = 0;
  while (pos < text.size() && names.size() <= static_cast<std::size_t>(cifar10_classes)) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(pos, end - pos));
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.size() != static_cast<std::size_t>(cifar10_classes)) return {fallback.begin(), fallback.end()};
  return names;
}

// Class names from batches.meta.txt, else the standard ten. The file, when present, must be a
// regular file of at most 64 KiB (a FIFO or /dev/zero there is refused, not read).
inline std::vector<std::string> load_class_names(const std::filesystem::path& dir) {
  const auto& fallback = cifar10_default_class_names();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return {fallback.begin(), fallback.end()};
  const auto path = detail::locate_batches(dir) / meta_file_name;
  if (!detail::data_file_present(path)) return {fallback.begin(), fallback.end()};
  const auto bytes = read_regular_file<data_error>(path, "CIFAR-10 class-name file", max_meta_file_bytes);
  return parse_class_names(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// A 64-bit fingerprint of a set's labels and pixels (FNV-1a over 8-byte words, then a final mix):
// a checkpoint records its training data's, so that a run is not resumed on other data unnoticed.
inline std::uint64_t fingerprint(const dataset& set) {
  std::uint64_t h = 0xcbf29ce484222325ull ^ set.size();
  auto absorb = [&h](const std::vector<std::uint8_t>& bytes) {
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, bytes.data() + i, 8);
      h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < bytes.size(); ++i) h = (h ^ bytes[i]) * 0x100000001b3ull;
    h ^= h >> 29;
  };
  absorb(set.labels);
  absorb(set.pixels);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// Holds out the LAST n records as validation: deterministic, and with the official (already
// shuffled) batches it is exactly data_batch_5 when n = 10,000.
inline std::pair<dataset, dataset> split_validation(dataset all, std::size_t n) {
  if (n >= all.size())
    throw data_error("cnnzoo: cannot hold out " + std::to_string(n) + " images for validation from a training set of " +
                     std::to_string(all.size()) + "; choose a --val-split smaller than the training set.");
  const std::size_t keep = all.size() - n;
  dataset val = all.slice(keep, n);
  all.labels.resize(keep);
  all.pixels.resize(keep * cifar10_image_bytes);
  all.labels.shrink_to_fit();
  all.pixels.shrink_to_fit();
  return {std::move(all), std::move(val)};
}

// Writes records [first, first + count) of `set` to `path` in the official format. Tests and
// tools use it to make small data sets that go through the same reader as the real one.
inline void write_batch_file(const std::filesystem::path& path, const dataset& set, std::size_t first,
                             std::size_t count) {
  if (set.pixels.size() != set.size() * cifar10_image_bytes)
    throw data_error("cnnzoo: cannot write " + detail::absolute_string(path) + ": the dataset has " +
                     std::to_string(set.size()) + " labels but " + std::to_string(set.pixels.size()) +
                     " pixel bytes (expected 3,072 per label).");
  if (first > set.size() || count > set.size() - first)
    throw data_error("cnnzoo: cannot write records [" + std::to_string(first) + ", " +
                     std::to_string(first + count) + ") of a set of " + std::to_string(set.size()) +
                     " images to " + detail::absolute_string(path) + ".");
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw data_error("cnnzoo: cannot create " + detail::absolute_string(path) + " (check the directory and its permissions).");
  for (std::size_t r = first; r < first + count; ++r) {
    const char label = static_cast<char>(set.labels[r]);
    out.write(&label, 1);
    out.write(reinterpret_cast<const char*>(set.pixels.data() + r * cifar10_image_bytes),
              static_cast<std::streamsize>(cifar10_image_bytes));
  }
  out.flush();
  if (!out) throw data_error("cnnzoo: writing " + detail::absolute_string(path) + " failed (disk full?).");
}

// batches.meta.txt with the standard class names, so generated directories look like real ones.
inline void write_meta_file(const std::filesystem::path& dir) {
  std::ofstream out(dir / meta_file_name, std::ios::trunc);
  for (const auto& name : cifar10_default_class_names()) out << name << '\n';
  if (!out) throw data_error("cnnzoo: cannot write " + detail::absolute_string(dir / meta_file_name) + ".");
}

}  // namespace cnnzoo::data
