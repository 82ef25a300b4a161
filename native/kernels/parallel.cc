// The thread team behind parallelFor (parallel.h).
#include "parallel.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LERNEN_PAUSE() _mm_pause()
#else
#define LERNEN_PAUSE() ((void)0)
#endif

namespace lernen {

int kernelThreads() {
  static const bool off = [] {
    const char* e = std::getenv("LERNEN_NO_TEAM");
    return e != nullptr && e[0] == '1';
  }();
  if (off) return 1;
  const int n = blasGetNumThreads();
  return n < 1 ? 1 : n;
}

namespace {

// A helper polls for the next job a little (a kernel often runs several parallel loops in a
// row), first with pause, then giving its core away with sched_yield (OpenBLAS's own workers
// wait the same way), then sleeps on the condition variable. It must never hold a core that a
// GEMM's threads need. The caller, waiting for its helpers, polls then yields.
constexpr int kHelperSpin = 256;
constexpr int kHelperYields = 64;
constexpr int kCallerSpin = 4096;

// Load adaptation. On a machine with more runnable threads than cores, a helper may get its core
// only milliseconds after the caller finished its own share, and a parallel region is then
// slower than running every share on the caller. The team notices (the caller waited longer
// than its own share took, and more than kLateNs) and runs the next regions serially, for a
// backoff that doubles while the machine stays busy and halves once helpers are prompt again.
// Serial or parallel, the shares and so the results are the same.
constexpr std::int64_t kLateNs = 50'000;

// True on a thread while it runs a share of a parallel region (caller and helpers): nested
// parallelFor calls then run inline, and GEMMs run on one OpenBLAS thread (see gemm.cc), so a
// region's threads never wait on each other's BLAS threads.
thread_local bool inRegion = false;

struct RegionFlag {
  bool prev;
  RegionFlag() : prev(inRegion) { inRegion = true; }
  ~RegionFlag() { inRegion = prev; }
};
constexpr int kMinBackoff = 16;
constexpr int kMaxBackoff = 4096;

inline std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Team {
 public:
  Team() = default;
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  ~Team() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void run(int nt, void (*task)(void*, int), void* ctx) {
    RegionFlag flag;
    if (serialLeft_ > 0) {
      --serialLeft_;
      for (int t = 0; t < nt; ++t) task(ctx, t);
      return;
    }
    grow(nt - 1);
    pending_.store(nt - 1, std::memory_order_relaxed);
    {
      // The job and its generation change together under the lock, so a helper always reads a
      // consistent (generation, job) pair.
      std::lock_guard<std::mutex> lk(m_);
      task_ = task;
      ctx_ = ctx;
      nt_ = nt;
      gen_.store(gen_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    cv_.notify_all();
    const std::int64_t t0 = nowNs();
    task(ctx, 0);
    const std::int64_t t1 = nowNs();
    for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
      if (i < kCallerSpin) {
        LERNEN_PAUSE();
      } else {
        std::this_thread::yield();
      }
    }
    const std::int64_t own = t1 - t0, waited = nowNs() - t1;
    if (waited > own && waited > kLateNs) {
      if (++strikes_ >= 2) {
        strikes_ = 0;
        serialLeft_ = backoff_;
        backoff_ = backoff_ * 2 > kMaxBackoff ? kMaxBackoff : backoff_ * 2;
      }
    } else {
      strikes_ = 0;
      if (waited * 4 < own) backoff_ = backoff_ / 2 < kMinBackoff ? kMinBackoff : backoff_ / 2;
    }
  }

 private:
  void grow(int helpers) {
    while (static_cast<int>(threads_.size()) < helpers) {
      const int idx = static_cast<int>(threads_.size()) + 1;
      const std::uint64_t seen = gen_.load(std::memory_order_relaxed);  // before the next job
      threads_.emplace_back([this, idx, seen] { loop(idx, seen); });
    }
  }

  void loop(int idx, std::uint64_t seen) {
    for (;;) {
      for (int i = 0; i < kHelperSpin && gen_.load(std::memory_order_acquire) == seen; ++i) {
        LERNEN_PAUSE();
      }
      for (int i = 0; i < kHelperYields && gen_.load(std::memory_order_acquire) == seen; ++i) {
        std::this_thread::yield();
      }
      void (*task)(void*, int);
      void* ctx;
      int nt;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || gen_.load(std::memory_order_relaxed) != seen; });
        if (stop_) return;
        seen = gen_.load(std::memory_order_relaxed);
        task = task_;
        ctx = ctx_;
        nt = nt_;
      }
      if (idx < nt) {
        {
          RegionFlag flag;
          task(ctx, idx);
        }
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<std::uint64_t> gen_{0};
  std::atomic<int> pending_{0};
  void (*task_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  int nt_ = 0;
  bool stop_ = false;
  // Load adaptation (caller thread only).
  int strikes_ = 0;
  int serialLeft_ = 0;
  int backoff_ = kMinBackoff;
};

}  // namespace

namespace detail {

thread_local Team team;

void runTeam(int nt, void (*task)(void* ctx, int t), void* ctx) { team.run(nt, task, ctx); }

bool inTeamRegion() { return inRegion; }

}  // namespace detail

}  // namespace lernen
