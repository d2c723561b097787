// SPDX-License-Identifier: MIT
// `llmforge bench`: prompt-processing and generation throughput (tokens/s, mean +- stddev over
// repetitions after a warm-up run), plus generation as a share of the memory-bandwidth roofline.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <llmforge/backend/bandwidth.hpp>
#include <llmforge/llmforge.hpp>

#include "cli.hpp"
#include "common.hpp"

namespace llmforge::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double mean = 0, stddev = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(s.stddev / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}


int cmd_bench(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path;
  std::size_t n_prompt = 128, n_gen = 64, threads = 2, reps = 3, depth = 0;
  desc.add_options()("model,m", po::value(&model_path)->required(), kModelHelp)(
      "prompt,p", po::value(&n_prompt)->default_value(128), "prompt tokens processed in one batch (0 = skip)")(
      "gen,n", po::value(&n_gen)->default_value(64), "tokens generated one at a time (0 = skip)")(
      "depth,d", po::value(&depth)->default_value(0), "tokens already in the KV cache before each run (prefilled, not timed)")(
      "threads,t", po::value(&threads)->default_value(2), "threads")(
      "reps,r", po::value(&reps)->default_value(3), "repetitions (after one warm-up run)")(
      "no-roofline", "skip the memory-bandwidth probe")("json", "print JSON");
  add_kernel_options(desc);
  po::variables_map vm;
  if (!parse_options("bench", "-m MODEL [-p 128] [-n 64] [-d 0] [-t 2] [-r 3] [--json]", desc, args, vm)) return 0;
  if (reps == 0) throw ConfigError("bench: --reps must be at least 1");
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

  LoadOptions load_opt{.load_tokenizer = false};
  apply_kernel_options(vm, load_opt);
  const auto load_start = Clock::now();
  const auto model = load_model(model_path, load_opt);
  const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();
  const LoadReport load_report = model->load_report();
  const auto& cfg = model->config();
  SessionOptions session_opt{.context = depth + std::max<std::size_t>(n_prompt, n_gen), .threads = threads};
  apply_cache_options(vm, session_opt);
  Session s = model->new_session(session_opt);
  // The roofline's bandwidth is probed with the session's own threads right before every generation run,
  // so each run is compared with the bandwidth the machine gave at that moment (it drifts on shared hosts).
  std::optional<BandwidthProbe> probe;
  if (!vm.count("no-roofline") && n_gen) probe.emplace();
  std::mt19937 rng(1234);
  std::vector<int32_t> tokens(std::max({n_prompt, n_gen, depth}));
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % cfg.vocab_size);
  std::vector<float> logits(cfg.vocab_size);

  // Fills the cache with `depth` tokens (in batches of at most 512) before a timed run.
  auto prefill_depth = [&] {
    s.reset();
    for (std::size_t i = 0; i < depth; i += 512)
      model->forward(s, std::span<const int32_t>(tokens.data() + i, std::min<std::size_t>(512, depth - i)), logits);
  };
  auto run_pp = [&] {
    prefill_depth();
    const auto t0 = Clock::now();
    model->forward(s, std::span<const int32_t>(tokens.data(), n_prompt), logits);
    return static_cast<double>(n_prompt) / std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto run_tg = [&](std::size_t n) {
    prefill_depth();
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) model->forward(s, std::span<const int32_t>(tokens.data() + i, 1), logits);
    return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
  };
  if (n_prompt) (void)run_pp();  // warm-up: page in the weights, grow every buffer
  if (n_gen) (void)run_tg(std::min<std::size_t>(n_gen, 8));
  const double wbytes = static_cast<double>(model->weight_bytes());
  // Two probes: four prefetched streams per thread (the fastest read found, the roofline) and one
  // prefetched stream per thread (how the kernels read the weights; DESIGN.md's "2-thread read stream").
  std::vector<double> pp, tg, bws, pct, bws1, pct1;
  for (std::size_t r = 0; r < reps; ++r) {
    if (n_prompt) pp.push_back(run_pp());
    if (n_gen) {
      if (probe) {
        bws.push_back(probe->measure(*s.pool));
        bws1.push_back(probe->measure(*s.pool, 3, 1));
      }
      tg.push_back(run_tg(n_gen));
      if (probe && wbytes > 0) {
        pct.push_back(100.0 * tg.back() * wbytes / (bws.back() * 1e9));
        pct1.push_back(100.0 * tg.back() * wbytes / (bws1.back() * 1e9));
      }
    }
  }
  auto stats_of = [](const std::vector<double>& v) { return v.empty() ? Stats{} : stats(v); };
  const Stats pps = stats_of(pp), tgs = stats_of(tg), bw = stats_of(bws), pcts = stats_of(pct);
  const Stats bw1 = stats_of(bws1), pcts1 = stats_of(pct1);
  const double roof = bw.mean > 0 && wbytes > 0 ? bw.mean * 1e9 / wbytes : 0.0;

  if (vm.count("json")) {
    nlohmann::json j{{"model", model_path},     {"threads", threads},          {"n_prompt", n_prompt},
                     {"n_gen", n_gen},          {"depth", depth},              {"reps", reps},                {"pp_tps", pps.mean},
                     {"pp_tps_stddev", pps.stddev}, {"tg_tps", tgs.mean},      {"tg_tps_stddev", tgs.stddev},
                     {"weight_bytes", model->weight_bytes()}, {"kernel_target", kernels::target_name()},
                     {"exact", load_opt.exact},
                     {"cache_type_k", kv_type_name(s.kv.options().k)}, {"cache_type_v", kv_type_name(s.kv.options().v)}, {"load_seconds", load_seconds},
                     {"repack_seconds", load_report.repack_seconds}, {"repacked_bytes", load_report.repacked_bytes}};
    if (roof > 0) {
      j["bandwidth_gbs"] = bw.mean;
      j["bandwidth_gbs_stddev"] = bw.stddev;
      j["tg_roofline_tps"] = roof;
      j["tg_roofline_pct"] = pcts.mean;
      j["tg_roofline_pct_stddev"] = pcts.stddev;
      j["bandwidth_1stream_gbs"] = bw1.mean;
      j["bandwidth_1stream_gbs_stddev"] = bw1.stddev;
      j["tg_roofline_1stream_pct"] = pcts1.mean;
      j["tg_roofline_1stream_pct_stddev"] = pcts1.stddev;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model %s: %.2f GiB of weights, %zu threads, kernels %s%s, KV cache %s/%s\n", model_path.c_str(),
              wbytes / (1 << 30), threads, kernels::target_name(), load_opt.exact ? " (exact)" : "",
              std::string(kv_type_name(s.kv.options().k)).c_str(), std::string(kv_type_name(s.kv.options().v)).c_str());
  if (depth) std::printf("depth %zu: every run starts with %zu tokens in the KV cache\n", depth, depth);
  std::printf("loaded in %.2f s; repacked %.2f GiB in %.2f s\n", load_seconds,
              static_cast<double>(load_report.repacked_bytes) / (1 << 30), load_report.repack_seconds);
  if (n_prompt) std::printf("pp%-5zu %10.2f ± %.2f tokens/s\n", n_prompt, pps.mean, pps.stddev);
  if (n_gen) std::printf("tg%-5zu %10.2f ± %.2f tokens/s\n", n_gen, tgs.mean, tgs.stddev);
  if (roof > 0) {
    std::printf("roofline: %.1f ± %.1f GB/s read bandwidth (probed before each run), %.1f MB of weights per token"
                " -> %.2f tokens/s; generation reaches %.0f ± %.0f%%\n",
                bw.mean, bw.stddev, wbytes / 1e6, roof, pcts.mean, pcts.stddev);
    std::printf("          against one read stream per thread (%.1f ± %.1f GB/s): %.0f ± %.0f%%\n", bw1.mean, bw1.stddev,
                pcts1.mean, pcts1.stddev);
  }
  return 0;
}

const Registration reg{"bench", "measure prompt-processing and generation speed (tokens/s)", &cmd_bench};

}  // namespace
}  // namespace llmforge::cli
