#pragma once
// The CPU policies' memory: 64-byte aligned (a cache line, and the widest vector any kernel loads),
// and a large buffer on transparent huge pages where the kernel gives them on request.
//
// A network's buffers are large (DenseNet100's activations at batch 32: 4 GB) and are written
// whole on their first use; each 4 KiB page then faults once, which on a virtual machine costs
// about 12 us: 15 s before DenseNet100's first step on the 2-core machine here. A 2 MiB page
// faults once where 512 small ones would. Buffers of 4 MiB and more are therefore aligned to
// 2 MiB and advised MADV_HUGEPAGE (Linux; only advice: where transparent huge pages are off, or
// the kernel has none free, the buffer is an ordinary one). Nothing computed changes.
#include <cstddef>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cnnzoo::exec::eigen_detail {

template <class T>
struct host_allocator {
  using value_type = T;
  static constexpr std::size_t alignment = 64;
  static constexpr std::size_t huge_page = std::size_t{2} << 20;
  static constexpr std::size_t huge_from = std::size_t{4} << 20;   // bytes

  host_allocator() noexcept = default;
  template <class U>
  host_allocator(const host_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    const std::size_t bytes = n * sizeof(T);
    if (bytes < huge_from) return static_cast<T*>(::operator new(bytes, std::align_val_t{alignment}));
    const std::size_t whole = (bytes + huge_page - 1) / huge_page * huge_page;
    void* p = ::operator new(whole, std::align_val_t{huge_page});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)::madvise(p, whole, MADV_HUGEPAGE);   // advice: a failure leaves ordinary pages
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < huge_from) ::operator delete(p, std::align_val_t{alignment});
    else ::operator delete(p, std::align_val_t{huge_page});
  }

  template <class U>
  bool operator==(const host_allocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace cnnzoo::exec::eigen_detail
