#pragma once
// Which cuDNN this program runs against, and whether that is one it may run against.
//
// A program is compiled against one cuDNN's headers (CUDNN_VERSION) and the dynamic loader picks
// a libcudnn at start-up, which may be another release. NVIDIA keeps cuDNN 9 backward compatible
// within the major version: a program built against 9.x runs on any 9.y with y >= x. It promises
// nothing for an older minor (a program built against 9.19 loading a system 9.14), and nothing
// across majors. The CUDA policy checks this when it is constructed (exec::cuda), and the GPU
// scripts print it first, so that a mismatched library is named before any GPU time is spent.
//
// Host code only (no GPU needed): cudnnGetVersion() reads the library, not the device.
#include <cudnn.h>
#include <dlfcn.h>

#include <cstddef>
#include <string>

namespace cnnzoo::exec {

struct cudnn_versions {
  std::size_t built = 0;    // CUDNN_VERSION of the headers this program was compiled with
  std::size_t loaded = 0;   // cudnnGetVersion() of the library the loader found
  std::string path;         // the file that library was loaded from, where the loader says

  static std::string format(std::size_t v) {
    // cuDNN 9 encodes MAJOR * 10000 + MINOR * 100 + PATCH.
    return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
  }
  bool same_major() const noexcept { return built / 10000 == loaded / 10000; }
  // Supported: the same major version, and a minor at least the one compiled against.
  bool supported() const noexcept { return same_major() && loaded >= built; }
  // "cuDNN 9.19.0 loaded from /path/libcudnn.so.9, built against 9.19.0: supported"
  std::string describe() const {
    std::string s = "cuDNN " + format(loaded) + " loaded";
    if (!path.empty()) s += " from " + path;
    s += ", built against " + format(built) + ": ";
    if (supported()) return s + "supported";
    if (!same_major()) return s + "NOT supported (another major version)";
    return s + "NOT supported (older than the headers; NVIDIA supports the same or a newer " +
           std::to_string(built / 10000) + ".x: point LD_LIBRARY_PATH at a cuDNN >= " + format(built) + ")";
  }
};

// The versions of this process. Never throws.
inline cudnn_versions cudnn_library() {
  cudnn_versions v;
  v.built = CUDNN_VERSION;
  v.loaded = cudnnGetVersion();
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cudnnGetVersion), &info) != 0 && info.dli_fname) v.path = info.dli_fname;
  return v;
}

}  // namespace cnnzoo::exec
