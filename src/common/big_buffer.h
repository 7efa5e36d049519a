// An allocator for vectors that grow to hundreds of megabytes (a heap
// walk's queue of millions of objects): a large allocation is its own
// anonymous mapping with transparent huge pages asked for, so that filling
// it takes a page fault per 2 MiB rather than per 4 KiB; the kernel hands
// out its pages only as they are first written, so reserving room for the
// worst case costs nothing until it is used. A small one is malloc's.
// Elements a resize() adds are default-initialised (a trivial type's are
// left as they are, not zeroed: the caller is about to write them).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace gms {

template <typename T>
class BigBufferAllocator {
 public:
  using value_type = T;
  static constexpr size_t kBig = size_t(4) << 20;  // bytes from which a mapping of its own
  static constexpr size_t kHuge = size_t(2) << 20;

  BigBufferAllocator() = default;
  template <typename U>
  BigBufferAllocator(const BigBufferAllocator<U>&) {}

  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    const size_t bytes = n * sizeof(T);
    if (bytes < kBig) return std::allocator<T>().allocate(n);
    void* p = mmap(nullptr, rounded(bytes), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, rounded(bytes), MADV_HUGEPAGE);  // a hint: without it, 4 KiB pages
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kBig) return std::allocator<T>().deallocate(p, n);
    munmap(p, rounded(bytes));
  }

  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  template <typename U>
  bool operator==(const BigBufferAllocator<U>&) const {
    return true;
  }

 private:
  static size_t rounded(size_t bytes) { return (bytes + kHuge - 1) / kHuge * kHuge; }
};

}  // namespace gms
