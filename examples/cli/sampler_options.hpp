// SPDX-License-Identifier: MIT
// The sampler and stop options of commands that generate (run, and later chat/serve), llama.cpp's names.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/sampling/sampler_config.hpp>

#include "common.hpp"

namespace llmforge::cli {

/// Values bound to the options of add_sampler_options; defaults are SamplerConfig's (llama.cpp's).
struct SamplerOptionValues {
  SamplerConfig config;
  std::string samplers;                       ///< --samplers "penalties;dry;top_k;..."
  std::vector<std::string> dry_breakers;      ///< --dry-sequence-breaker (repeatable; "none" clears)
  std::vector<std::string> logit_bias;        ///< --logit-bias TOKEN(+|-)BIAS
  std::vector<std::string> stop;              ///< --stop STR (repeatable)
};

/// Adds --temp, --top-k, ..., --samplers, --stop and friends, bound to `v`.
inline void add_sampler_options(po::options_description& desc, SamplerOptionValues& v) {
  auto& c = v.config;
  desc.add_options()
      ("temp", po::value(&c.temperature)->default_value(c.temperature, "0.8"), "temperature (0 = greedy)")
      ("dynatemp-range", po::value(&c.dynatemp_range)->default_value(c.dynatemp_range, "0"), "dynamic temperature range: t +/- range by entropy (0 = off)")
      ("dynatemp-exp", po::value(&c.dynatemp_exponent)->default_value(c.dynatemp_exponent, "1"), "dynamic temperature exponent")
      ("top-k", po::value(&c.top_k)->default_value(c.top_k), "top-k sampling (0 = off)")
      ("top-p", po::value(&c.top_p)->default_value(c.top_p, "0.95"), "top-p (nucleus) sampling (1 = off)")
      ("min-p", po::value(&c.min_p)->default_value(c.min_p, "0.05"), "min-p sampling (0 = off)")
      ("typical", po::value(&c.typical_p)->default_value(c.typical_p, "1"), "locally typical sampling p (1 = off)")
      ("min-keep", po::value(&c.min_keep)->default_value(c.min_keep), "truncating samplers keep at least this many tokens")
      ("repeat-penalty", po::value(&c.repeat_penalty)->default_value(c.repeat_penalty, "1.0"), "repetition penalty (1 = off)")
      ("repeat-last-n", po::value(&c.penalty_last_n)->default_value(c.penalty_last_n), "tokens the penalties look back (0 = off, -1 = all)")
      ("presence-penalty", po::value(&c.presence_penalty)->default_value(c.presence_penalty, "0"), "presence penalty (0 = off)")
      ("frequency-penalty", po::value(&c.frequency_penalty)->default_value(c.frequency_penalty, "0"), "frequency penalty (0 = off)")
      ("dry-multiplier", po::value(&c.dry_multiplier)->default_value(c.dry_multiplier, "0"), "DRY multiplier (0 = off)")
      ("dry-base", po::value(&c.dry_base)->default_value(c.dry_base, "1.75"), "DRY base (>= 1)")
      ("dry-allowed-length", po::value(&c.dry_allowed_length)->default_value(c.dry_allowed_length), "DRY: repeats up to this length are free")
      ("dry-penalty-last-n", po::value(&c.dry_penalty_last_n)->default_value(c.dry_penalty_last_n), "DRY: tokens to scan (0 = off, -1 = all)")
      ("dry-sequence-breaker", po::value(&v.dry_breakers)->composing(),
       "DRY sequence breaker, repeatable, replaces the defaults \\n : \" * (escapes \\n \\t \\\\ \\\" are processed; 'none' = no breakers)")
      ("xtc-probability", po::value(&c.xtc_probability)->default_value(c.xtc_probability, "0"), "XTC probability (0 = off)")
      ("xtc-threshold", po::value(&c.xtc_threshold)->default_value(c.xtc_threshold, "0.1"), "XTC threshold (> 0.5 = off)")
      ("mirostat", po::value(&c.mirostat)->default_value(c.mirostat), "mirostat version: 0 = off, 2 = mirostat v2")
      ("mirostat-lr", po::value(&c.mirostat_eta)->default_value(c.mirostat_eta, "0.1"), "mirostat learning rate (eta)")
      ("mirostat-ent", po::value(&c.mirostat_tau)->default_value(c.mirostat_tau, "5"), "mirostat target entropy (tau)")
      ("logit-bias", po::value(&v.logit_bias)->composing(), "TOKEN+BIAS or TOKEN-BIAS (e.g. 15043+1, 2-inf), repeatable")
      ("samplers", po::value(&v.samplers), "stage order, e.g. \"penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature\" (the default)")
      ("seed", po::value(&c.seed), "random seed (default: fixed, so runs are reproducible)")
      ("stop", po::value(&v.stop)->composing(), "stop string, repeatable: output ends before the first one");
}

/// Turns "a\\nb" into "a\nb" (llama.cpp's escape processing for breakers).
inline std::string process_escapes(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char n = s[++i];
    out += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
  }
  return out;
}

/// The validated configuration from the parsed options. @throws ConfigError on any bad value.
inline SamplerConfig sampler_config(const SamplerOptionValues& v) {
  SamplerConfig c = v.config;
  if (!v.samplers.empty()) c.stages = parse_stage_order(v.samplers);
  if (!v.dry_breakers.empty()) {
    c.dry_sequence_breakers.clear();
    for (const auto& b : v.dry_breakers)
      if (b != "none") c.dry_sequence_breakers.push_back(process_escapes(b));
  }
  for (const auto& lb : v.logit_bias) {
    const auto sign = lb.find_first_of("+-", 1);
    std::size_t used = 0;
    LogitBias b;
    try {
      if (sign == std::string::npos) throw std::invalid_argument("no sign");
      b.token = static_cast<int32_t>(std::stol(lb.substr(0, sign), &used));
      if (used != sign) throw std::invalid_argument("token");
      const std::string value = lb.substr(sign);
      b.bias = value == "-inf" ? -INFINITY : std::stof(value, &used);
      if (value != "-inf" && used != value.size()) throw std::invalid_argument("bias");
    } catch (const std::exception&) {
      throw ConfigError("--logit-bias: '" + lb + "' is not TOKEN+BIAS or TOKEN-BIAS (e.g. 15043+1, 2-inf)");
    }
    c.logit_bias.push_back(b);
  }
  c.validate();
  return c;
}

}  // namespace llmforge::cli
