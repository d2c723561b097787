// SPDX-License-Identifier: MIT
// Arena allocator: reuse after reset(), and a forward-pass-shaped sequence of ops that allocates nothing after warm-up
// (global operator new is replaced in this translation unit to count heap allocations).
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include <llmforge/tensor.hpp>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // our operator new is malloc, so free is the match
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_news{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace lf = llmforge;
using lf::F32;
using lf::Shape;

BOOST_AUTO_TEST_SUITE(arena)

BOOST_AUTO_TEST_CASE(reset_reuses_memory_and_merges_blocks) {
  lf::Arena a;
  auto x = a.empty<F32>(Shape{1000});
  auto y = a.empty<F32>(Shape{100000});  // does not fit the first block: a second one
  BOOST_TEST(a.heap_allocations() == 2u);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(x.data()) % 64 == 0u);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(y.data()) % 64 == 0u);
  a.reset();  // merged into one block of the peak size
  BOOST_TEST(a.heap_allocations() == 3u);
  for (int round = 0; round < 3; ++round) {
    auto x2 = a.empty<F32>(Shape{1000});
    auto y2 = a.zeros<F32>(Shape{100000});
    BOOST_TEST(y2.data()[99999] == 0.0f);
    a.reset();
  }
  BOOST_TEST(a.heap_allocations() == 3u);
  BOOST_TEST(a.used() == 0u);
  BOOST_TEST(a.peak() >= 101000u * 4);
}

BOOST_AUTO_TEST_CASE(decode_step_allocates_nothing_after_warmup) {
  // One decoder-ish step on arena tensors: norm, projections, attention scores, masked softmax, FFN.
  const std::size_t dim = 64, ffn = 160, ctx = 16;
  const auto w_qkv = lf::randn<F32>(Shape{3 * dim, dim}, 1, 0, 0.1);
  const auto w_up = lf::to_dtype<lf::F16>(lf::randn<F32>(Shape{ffn, dim}, 2, 0, 0.1));
  const auto w_down = lf::randn<F32>(Shape{dim, ffn}, 3, 0, 0.1);
  const auto norm_w = lf::ones<F32>(Shape{dim});
  const auto keys = lf::randn<F32>(Shape{ctx, dim}, 4);
  const auto mask = lf::causal_mask(4, ctx, ctx - 4);
  const auto x0 = lf::randn<F32>(Shape{4, dim}, 5);
  lf::ThreadPool pool(2);
  lf::Arena arena;
  auto step = [&] {
    auto h = arena.empty<F32>(Shape{4, dim});
    lf::rms_norm(x0, norm_w, 1e-6f, h);
    auto qkv = arena.empty<F32>(Shape{4, 3 * dim});
    lf::linear(h, w_qkv, lf::Tensor<F32>(), qkv, &pool);
    const auto q = qkv.narrow(1, 0, dim);
    auto scores = arena.empty<F32>(Shape{4, ctx});
    lf::matmul(q, keys.transpose(), scores, &pool);
    lf::masked_fill(scores, mask, -INFINITY, scores);
    lf::softmax(scores, -1, scores);
    auto up = arena.empty<F32>(Shape{4, ffn});
    lf::linear(h, w_up, lf::Tensor<F32>(), up, &pool);
    lf::silu(up, up);
    lf::mul(up, up, up);
    auto down = arena.empty<F32>(Shape{4, dim});
    lf::matmul(up, w_down.transpose(), down, &pool);
    lf::add(down, x0, down);
    const float checksum = down.at(3, 7) + scores.at(0, ctx - 1);
    arena.reset();
    return checksum;
  };
  const float first = step();  // warm-up: arena block, GEMM pack buffers, thread start-up
  (void)step();
  const std::size_t blocks = arena.heap_allocations();
  g_news = 0;
  g_counting = true;
  float again = 0;
  for (int i = 0; i < 5; ++i) again = step();
  g_counting = false;
  BOOST_TEST(g_news.load() == 0u, "operator new calls during steady-state steps: " << g_news.load());
  BOOST_TEST(arena.heap_allocations() == blocks);
  BOOST_TEST(again == first);  // same inputs, same thread count: same result
}

BOOST_AUTO_TEST_SUITE_END()
