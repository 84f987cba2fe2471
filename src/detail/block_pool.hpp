#pragma once
// Blocks built on the scheduler's loop thread and freed on workers once a run ends: a pattern
// glibc's per-thread caches cannot serve (a block freed on a worker lands in the worker's cache, so
// the loop thread always takes malloc's slow path; measured: a quarter of the loop thread's time).
// A bounded free list per block type, shared by every thread, hands the blocks back.

#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace sked::detail {

class BlockPool {
 public:
  // Beyond this many free blocks, frees go back to malloc (a burst's blocks are not kept for ever).
  static constexpr std::size_t max_free_blocks = 1024;

  explicit BlockPool(std::size_t block_size) : block_size_(block_size) {
    free_.reserve(max_free_blocks);
  }
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  ~BlockPool() {
    for (void* p : free_) ::operator delete(p);
  }

  [[nodiscard]] void* allocate() {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        void* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    return ::operator new(block_size_);
  }

  void deallocate(void* p) noexcept {
    {
      std::lock_guard lock(mutex_);
      if (free_.size() < max_free_blocks) {
        free_.push_back(p);  // cannot throw: reserved up to max_free_blocks
        return;
      }
    }
    ::operator delete(p);
  }

  // The pool for blocks of T. Never destroyed: a worker that outlives static destruction (a
  // detached thread-pool worker) may still free its last block into it.
  template <typename T>
  static BlockPool& of() {
    static BlockPool* const pool = new BlockPool(sizeof(T));
    return *pool;
  }

 private:
  const std::size_t block_size_;
  std::mutex mutex_;
  std::vector<void*> free_;
};

// A std allocator over BlockPool::of<T>() for single objects (allocate_shared's control block + T).
template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() noexcept = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n == 1) return static_cast<T*>(BlockPool::of<T>().allocate());
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n == 1) {
      BlockPool::of<T>().deallocate(p);
    } else {
      ::operator delete(p);
    }
  }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace sked::detail
