// SPDX-License-Identifier: MIT
// Generation engine figures, each a ratio of two measurements taken in the same run, interleaved
// round by round (medians of the rounds):
//   - prefill vs decode: time per token of a 512-token prompt vs of decoding one token at a time;
//   - batching: aggregate decode tokens/s of 8 sequences in one Batch vs one sequence alone;
//   - prefix reuse: time to first token with a cached 1000-token prefix vs without;
//   - speculative decoding with a draft model (optional): tokens/s with vs without it.
// Usage: bench_generation [MODEL.gguf] [--draft DRAFT.gguf] [--rounds N] [--threads N]
//   (default model: ../shared/reference/models/tiny512-q8_0.gguf, else models/stories260K.gguf)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

namespace lf = llmforge;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
std::vector<int32_t> tokens(std::size_t n, std::size_t vocab, std::size_t salt) {
  std::vector<int32_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>((i * 7919 + salt * 104729 + 3) % (vocab - 3) + 3);
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  std::filesystem::path model_path, draft_path;
  std::size_t rounds = 3, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--draft" && i + 1 < argc) draft_path = argv[++i];
    else if (a == "--rounds" && i + 1 < argc) rounds = std::stoul(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::stoul(argv[++i]);
    else model_path = a;
  }
  if (model_path.empty())
    model_path = std::filesystem::exists("../shared/reference/models/tiny512-q8_0.gguf") ? "../shared/reference/models/tiny512-q8_0.gguf"
                                                                                        : "models/stories260K.gguf";
  auto model = lf::load_model(model_path);
  const std::size_t V = model->config().vocab_size, ctx = std::min<std::size_t>(model->config().context_len, 2048);
  std::printf("model %s, kernel target %s, %zu rounds\n", model_path.filename().c_str(), lf::kernels::target_name(), rounds);
  const lf::GenerateOptions decode{.max_tokens = 32, .stop_at_eos = false};

  std::vector<double> pp_tok, tg_tok, one_tps, eight_tps, ttft_cold, ttft_warm, plain_tps, spec_tps;
  std::size_t accepted = 0, proposed = 0;
  std::shared_ptr<lf::Drafter> drafter;
  if (!draft_path.empty()) drafter = std::make_shared<lf::DraftModelDrafter>(lf::load_model(draft_path), V, lf::SessionOptions{ctx, threads});
  const std::size_t prompt_n = std::min<std::size_t>(512, ctx / 2), prefix_n = std::min<std::size_t>(1000, ctx - 64);

  for (std::size_t round = 0; round <= rounds; ++round) {  // round 0 warms up
    const bool keep = round > 0;
    {  // prefill vs decode
      lf::Generator g(model, {ctx, threads});
      const auto r = g.generate_tokens(tokens(prompt_n, V, round), decode);
      if (keep) pp_tok.push_back(r.prompt_seconds / r.prompt_processed()), tg_tok.push_back(r.generate_seconds / r.tokens.size());
    }
    {  // one sequence vs a batch of 8
      for (std::size_t n : {1u, 8u}) {
        // Decode throughput: the first step runs every prompt (one pass) and samples each sequence's
        // first token; the clock starts after it, so the figure counts the remaining tokens.
        lf::Batch b(model, {.slots = n, .context = 256, .threads = threads});
        for (std::size_t s = 0; s < n; ++s) b.add(tokens(16, V, s + 10 * round), decode);
        b.step();
        const auto t0 = Clock::now();
        b.run_until_done();
        const double tps = double(n * (decode.max_tokens - 1)) / seconds_since(t0);
        if (keep) (n == 1 ? one_tps : eight_tps).push_back(tps);
      }
    }
    {  // time to first token with and without a cached prefix
      lf::Generator g(model, {ctx, threads});
      auto p = tokens(prefix_n, V, round);
      auto first = p, second = p;
      first.push_back(5), second.push_back(6);
      const auto cold = g.generate_tokens(first, {.max_tokens = 1});
      const auto warm = g.generate_tokens(second, {.max_tokens = 1});
      if (keep) ttft_cold.push_back(cold.time_to_first_token), ttft_warm.push_back(warm.time_to_first_token);
    }
    if (drafter) {
      lf::Generator g(model, {ctx, threads});
      const auto prompt = tokens(16, V, round);
      const auto a = g.generate_tokens(prompt, {.max_tokens = 64, .stop_at_eos = false, .reuse_prefix = false});
      const auto b = g.generate_tokens(prompt, {.max_tokens = 64, .stop_at_eos = false, .reuse_prefix = false, .drafter = drafter});
      if (keep) plain_tps.push_back(a.generate_tps()), spec_tps.push_back(b.generate_tps());
      accepted += b.draft_accepted, proposed += b.draft_proposed;
      if (a.tokens != b.tokens) std::printf("WARNING: speculative output differs from the plain run\n");
    }
  }
  std::printf("prefill %zu tokens: %.3f ms/token; decode: %.3f ms/token; decode / prefill per token = %.1fx\n", prompt_n,
              median(pp_tok) * 1e3, median(tg_tok) * 1e3, median(tg_tok) / median(pp_tok));
  std::printf("batch: 1 sequence %.1f tokens/s, 8 sequences %.1f tokens/s: %.2fx\n", median(one_tps), median(eight_tps),
              median(eight_tps) / median(one_tps));
  std::printf("time to first token, %zu-token prompt: %.1f ms uncached, %.1f ms with the prefix cached: %.1f%%\n", prefix_n + 1,
              median(ttft_cold) * 1e3, median(ttft_warm) * 1e3, 100 * median(ttft_warm) / median(ttft_cold));
  if (drafter)
    std::printf("speculative (%s): %.1f vs %.1f tokens/s: %.2fx, acceptance %.1f%%\n", draft_path.filename().c_str(), median(spec_tps),
                median(plain_tps), median(spec_tps) / median(plain_tps), proposed ? 100.0 * accepted / proposed : 0.0);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_generation: %s\n", e.what());
  return 1;
}
