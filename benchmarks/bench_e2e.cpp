// SPDX-License-Identifier: MIT
// End-to-end throughput of small real models: prompt processing and generation, 1 vs 2 threads.
// Usage: bench_e2e [MODEL.gguf ...]   (default: models/stories260K.gguf and ../shared/reference/models/tiny512-f32.gguf)
// Reports tokens/s (median of 5 runs) and the 2-thread/1-thread ratio measured in the same run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

namespace lf = llmforge;

namespace {

struct Speeds {
  double pp, tg;
};

Speeds measure(const lf::Model& m, std::size_t threads, std::size_t n_prompt, std::size_t n_gen) {
  using Clock = std::chrono::steady_clock;
  lf::Session s = m.new_session({n_prompt + n_gen + 1, threads});
  std::vector<int32_t> prompt(n_prompt);
  for (std::size_t i = 0; i < n_prompt; ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 1) % m.config().vocab_size);
  std::vector<float> logits(m.config().vocab_size);
  std::vector<double> pp, tg;
  for (int rep = 0; rep < 6; ++rep) {  // rep 0 is warm-up
    s.reset();
    auto t0 = Clock::now();
    m.forward(s, prompt, logits);
    auto t1 = Clock::now();
    for (std::size_t i = 0; i < n_gen; ++i) {
      int32_t id = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      m.forward(s, std::span<const int32_t>(&id, 1), logits);
    }
    auto t2 = Clock::now();
    if (rep == 0) continue;
    pp.push_back(n_prompt / std::chrono::duration<double>(t1 - t0).count());
    tg.push_back(n_gen / std::chrono::duration<double>(t2 - t1).count());
  }
  std::sort(pp.begin(), pp.end());
  std::sort(tg.begin(), tg.end());
  return {pp[pp.size() / 2], tg[tg.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) paths.emplace_back(argv[i]);
  if (paths.empty()) paths = {"models/stories260K.gguf", "../shared/reference/models/tiny512-f32.gguf"};
  std::printf("kernel target: %s\n", lf::kernels::target_name());
  std::printf("%-28s %8s %12s %12s\n", "model", "threads", "pp128 tok/s", "tg64 tok/s");
  for (const auto& p : paths) {
    if (!std::filesystem::exists(p)) {
      std::printf("%-28s (not found, skipped)\n", p.filename().c_str());
      continue;
    }
    auto m = lf::load_model(p, {.load_tokenizer = false});
    const std::size_t n_prompt = std::min<std::size_t>(128, m->config().context_len / 2);
    const Speeds one = measure(*m, 1, n_prompt, 64);
    const Speeds two = measure(*m, 2, n_prompt, 64);
    std::printf("%-28s %8d %12.0f %12.0f\n", p.filename().c_str(), 1, one.pp, one.tg);
    std::printf("%-28s %8d %12.0f %12.0f   (2t/1t: pp %.2fx, tg %.2fx)\n", p.filename().c_str(), 2, two.pp, two.tg,
                two.pp / one.pp, two.tg / one.tg);
  }
} catch (const llmforge::Error& e) {
  std::fprintf(stderr, "bench_e2e: %s\n", e.what());
  return 1;
}
