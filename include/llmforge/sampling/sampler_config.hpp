// SPDX-License-Identifier: MIT
// SamplerConfig: every setting of a sampler chain, the stage order, and their validation.
#pragma once

#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge {

/// A reorderable stage of a sampler chain. Logit bias always runs first and the final draw
/// (or mirostat) always runs last; the stages in between run in `SamplerConfig::stages` order.
enum class SamplerStage { Penalties, Dry, TopK, TypicalP, TopP, MinP, Xtc, Temperature };

/// llama.cpp's default order: penalties, dry, top_k, typ_p, top_p, min_p, xtc, temperature.
inline const std::vector<SamplerStage>& default_stage_order() {
  static const std::vector<SamplerStage> order{SamplerStage::Penalties, SamplerStage::Dry,  SamplerStage::TopK,
                                               SamplerStage::TypicalP,  SamplerStage::TopP, SamplerStage::MinP,
                                               SamplerStage::Xtc,       SamplerStage::Temperature};
  return order;
}

/// The name a stage has in `--samplers` lists (llama.cpp's spelling).
[[nodiscard]] inline const char* to_string(SamplerStage s) noexcept {
  switch (s) {
    case SamplerStage::Penalties: return "penalties";
    case SamplerStage::Dry: return "dry";
    case SamplerStage::TopK: return "top_k";
    case SamplerStage::TypicalP: return "typ_p";
    case SamplerStage::TopP: return "top_p";
    case SamplerStage::MinP: return "min_p";
    case SamplerStage::Xtc: return "xtc";
    case SamplerStage::Temperature: return "temperature";
  }
  return "unknown";
}

/// Parses a stage list such as "penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature" (separators
/// `;` or `,`, spaces ignored; also accepts `-` for `_`, "typical", "typical_p" and "temp"). Stages not listed do not run.
/// @throws ConfigError for an unknown or repeated name.
[[nodiscard]] inline std::vector<SamplerStage> parse_stage_order(std::string_view text) {
  std::vector<SamplerStage> out;
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t j = text.find_first_of(";,", i);
    if (j == std::string_view::npos) j = text.size();
    std::string name;
    for (char c : text.substr(i, j - i))
      if (c != ' ' && c != '\t') name += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    i = j + 1;
    if (name.empty()) continue;
    SamplerStage s;
    if (name == "penalties" || name == "penalty") s = SamplerStage::Penalties;
    else if (name == "dry") s = SamplerStage::Dry;
    else if (name == "top_k") s = SamplerStage::TopK;
    else if (name == "typ_p" || name == "typical" || name == "typical_p") s = SamplerStage::TypicalP;
    else if (name == "top_p") s = SamplerStage::TopP;
    else if (name == "min_p") s = SamplerStage::MinP;
    else if (name == "xtc") s = SamplerStage::Xtc;
    else if (name == "temperature" || name == "temp") s = SamplerStage::Temperature;
    else
      throw ConfigError("invalid sampler setting: unknown sampler stage '" + name +
                        "'; known: penalties, dry, top_k, typ_p, top_p, min_p, xtc, temperature");
    for (SamplerStage seen : out)
      if (seen == s) throw ConfigError("invalid sampler setting: sampler stage '" + std::string(to_string(s)) + "' is listed twice");
    out.push_back(s);
  }
  return out;
}

/// An additive bias on one token's logit (`-INFINITY` bans the token).
struct LogitBias {
  int32_t token = 0;
  float bias = 0;
};

/// Settings of a sampler chain; the defaults are llama.cpp's. "off" values make a stage a no-op.
struct SamplerConfig {
  float temperature = 0.8f;            ///< >= 0; 0 = greedy (only the most likely token survives)
  float dynatemp_range = 0.0f;         ///< >= 0; > 0: temperature varies in [t - range, t + range] with the entropy
  float dynatemp_exponent = 1.0f;      ///< > 0; how normalized entropy maps into that range
  int top_k = 40;                      ///< >= 0; 0 = off
  float top_p = 0.95f;                 ///< in (0, 1]; 1 = off
  float min_p = 0.05f;                 ///< in [0, 1]; 0 = off
  float typical_p = 1.0f;              ///< in (0, 1]; 1 = off
  float xtc_probability = 0.0f;        ///< in [0, 1]; 0 = off
  float xtc_threshold = 0.1f;          ///< in [0, 1]; > 0.5 = off
  float repeat_penalty = 1.0f;         ///< > 0; 1 = off (divides positive logits, multiplies the others)
  float presence_penalty = 0.0f;       ///< subtracted once from every token in the window
  float frequency_penalty = 0.0f;      ///< subtracted per occurrence in the window
  int32_t penalty_last_n = 64;         ///< window of the three penalties; 0 = off, -1 = the whole sequence
  float dry_multiplier = 0.0f;         ///< >= 0; 0 = off
  float dry_base = 1.75f;              ///< >= 1
  int32_t dry_allowed_length = 2;      ///< >= 1; repeats up to this length are free
  int32_t dry_penalty_last_n = -1;     ///< window DRY scans; 0 = off, -1 = the whole sequence
  std::vector<std::string> dry_sequence_breakers{"\n", ":", "\"", "*"};  ///< text that ends a repeat
  int mirostat = 0;                    ///< 0 = off, 2 = mirostat v2 (replaces the ordered stages)
  float mirostat_tau = 5.0f;           ///< > 0; target surprise in bits
  float mirostat_eta = 0.1f;           ///< in (0, 1]; learning rate
  std::size_t min_keep = 0;            ///< truncating stages keep at least this many tokens (0 = 1)
  std::vector<LogitBias> logit_bias;   ///< added to the logits before any other stage
  std::vector<SamplerStage> stages = default_stage_order();
  uint64_t seed = 0x5EED;              ///< seeds the draw (and, derived from it, XTC's coin)

  /// @throws ConfigError with a sentence naming the stage, the setting, the allowed range and the value.
  void validate() const {
    range(std::isfinite(temperature) && temperature >= 0, "temperature", "must be a finite number >= 0 (0 = greedy)", temperature);
    range(std::isfinite(dynatemp_range) && dynatemp_range >= 0, "temperature range", "must be a finite number >= 0 (0 = off)", dynatemp_range);
    range(std::isfinite(dynatemp_exponent) && dynatemp_exponent > 0, "temperature exponent", "must be a finite number > 0", dynatemp_exponent);
    range(top_k >= 0, "top-k", "must be >= 0 (0 = off)", top_k);
    range(top_p > 0 && top_p <= 1, "top-p", "must be in (0, 1] (1 = off)", top_p);
    range(min_p >= 0 && min_p <= 1, "min-p", "must be in [0, 1] (0 = off)", min_p);
    range(typical_p > 0 && typical_p <= 1, "typical-p", "must be in (0, 1] (1 = off)", typical_p);
    range(xtc_probability >= 0 && xtc_probability <= 1, "xtc probability", "must be in [0, 1] (0 = off)", xtc_probability);
    range(xtc_threshold >= 0 && xtc_threshold <= 1, "xtc threshold", "must be in [0, 1] (> 0.5 = off)", xtc_threshold);
    range(std::isfinite(repeat_penalty) && repeat_penalty > 0, "repeat penalty", "must be a finite number > 0 (1 = off)", repeat_penalty);
    range(std::isfinite(presence_penalty), "presence penalty", "must be a finite number (0 = off)", presence_penalty);
    range(std::isfinite(frequency_penalty), "frequency penalty", "must be a finite number (0 = off)", frequency_penalty);
    range(penalty_last_n >= -1, "penalties last-n", "must be >= -1 (0 = off, -1 = whole sequence)", penalty_last_n);
    range(std::isfinite(dry_multiplier) && dry_multiplier >= 0, "dry multiplier", "must be a finite number >= 0 (0 = off)", dry_multiplier);
    range(std::isfinite(dry_base) && dry_base >= 1, "dry base", "must be a finite number >= 1", dry_base);
    range(dry_allowed_length >= 1, "dry allowed length", "must be >= 1", dry_allowed_length);
    range(dry_penalty_last_n >= -1, "dry penalty last-n", "must be >= -1 (0 = off, -1 = whole sequence)", dry_penalty_last_n);
    range(mirostat == 0 || mirostat == 2, "mirostat", "must be 0 (off) or 2 (mirostat v2)", mirostat);
    range(std::isfinite(mirostat_tau) && mirostat_tau > 0, "mirostat tau", "must be a finite number > 0", mirostat_tau);
    range(mirostat_eta > 0 && mirostat_eta <= 1, "mirostat eta", "must be in (0, 1]", mirostat_eta);
    for (const auto& b : logit_bias) {
      range(b.token >= 0, "logit bias", "token ids must be >= 0", b.token);
      range(!std::isnan(b.bias) && b.bias != INFINITY, "logit bias", "must be a number or -inf (ban), not NaN or +inf", b.bias);
    }
    for (std::size_t i = 0; i < stages.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (stages[i] == stages[j])
          throw ConfigError("invalid sampler setting: sampler stage '" + std::string(to_string(stages[i])) + "' is listed twice");
  }

  /// Whether DRY would change anything (llama.cpp's condition).
  [[nodiscard]] bool dry_active() const noexcept { return dry_multiplier != 0 && dry_penalty_last_n != 0; }

 private:
  template <class T>
  static void range(bool ok, const char* what, const char* rule, T got) {
    if (ok) return;
    std::ostringstream s;
    s << "invalid sampler setting: " << what << ' ' << rule << ", got " << got;
    throw ConfigError(s.str());
  }
};

}  // namespace llmforge
