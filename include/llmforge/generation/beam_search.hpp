// SPDX-License-Identifier: MIT
// Beam search: keeps the `beam_width` most probable continuations at every step, all advanced by one
// batched forward pass, each in its own KV cache slot (a beam that continues another's prefix gets a
// copy of that slot). Scoring and stopping follow Hugging Face's `generate(num_beams=...)`.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/kv/kv_cache.hpp>
#include <llmforge/models/model.hpp>

namespace llmforge {

/// Settings of a beam search.
struct BeamOptions {
  std::size_t beam_width = 4;
  std::size_t max_tokens = 64;
  /// A finished hypothesis scores sum(log p) / (generated tokens ^ length_penalty): > 0 favours longer
  /// outputs, < 0 shorter ones (as Hugging Face).
  float length_penalty = 1.0f;
  /// Stop as soon as `beam_width` hypotheses have finished; otherwise also go on while a running beam
  /// could still beat the worst finished one.
  bool early_stopping = true;
  std::size_t n_best = 1;       ///< hypotheses to return (at most beam_width)
  bool stop_at_eos = true;      ///< end-of-generation tokens finish a hypothesis (they are not part of it)
  std::vector<int32_t> stop_tokens;  ///< further ids that finish a hypothesis

  /// @throws ConfigError naming the setting and its allowed range.
  void validate() const {
    if (beam_width == 0 || beam_width > 64) throw ConfigError("beam search: beam width must be between 1 and 64, got " + std::to_string(beam_width));
    if (n_best == 0 || n_best > beam_width)
      throw ConfigError("beam search: n_best must be between 1 and the beam width " + std::to_string(beam_width) + ", got " + std::to_string(n_best));
    if (!std::isfinite(length_penalty)) throw ConfigError("beam search: length penalty must be a finite number");
  }
};

/// One result of a beam search.
struct BeamHypothesis {
  std::vector<int32_t> tokens;  ///< generated ids (without the token that finished it)
  double logprob = 0;           ///< sum of the tokens' log-probabilities (the finishing token's included)
  double score = 0;             ///< logprob / length ^ length_penalty
  bool finished = false;        ///< ended by an end-of-generation / stop token (else by max_tokens)
};

/// Runs beam searches over one model; owns `beam_width` KV cache slots (allocated for the widest
/// search so far) and the batch scratch.
class BeamSearch {
 public:
  explicit BeamSearch(std::shared_ptr<const Model> model, const SessionOptions& opt = {})
      : model_(std::move(model)), opt_(opt), scratch_(opt.threads) {}

  /// The `n_best` best hypotheses for continuing `prompt`, best first.
  /// @throws ConfigError for bad settings or a prompt that does not fit the context.
  std::vector<BeamHypothesis> run(std::span<const int32_t> prompt, const BeamOptions& o) {
    o.validate();
    if (prompt.empty()) throw ConfigError("beam search: the prompt is empty");
    const auto& c = model_->config();
    const std::size_t W = o.beam_width, V = c.vocab_size;
    ensure_slots(W);
    const std::size_t cap = slots_.front().capacity();
    if (prompt.size() >= cap)
      throw ConfigError("beam search: the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " + std::to_string(cap));
    const tokenizer::Tokenizer* tok = model_->has_tokenizer() ? &model_->tokenizer() : nullptr;
    auto ends = [&](int32_t id) {
      if (o.stop_at_eos && tok && tok->is_eog(id)) return true;
      return std::find(o.stop_tokens.begin(), o.stop_tokens.end(), id) != o.stop_tokens.end();
    };
    auto score_of = [&](double lp, std::size_t len) { return lp / std::pow(static_cast<double>(std::max<std::size_t>(len, 1)), o.length_penalty); };

    // Prefill once into slot 0; every first beam starts from it.
    std::vector<float> logits(V);
    {
      const SequenceSlice s{&slots_[0], 0, prompt, SequenceSlice::Logits::Last};
      model_->forward_batch(std::span<const SequenceSlice>(&s, 1), scratch_, logits);
    }
    struct Beam {
      std::size_t slot;
      std::vector<int32_t> tokens;
      double logprob;
    };
    std::vector<Beam> beams{Beam{0, {}, 0.0}};
    std::vector<BeamHypothesis> done;
    std::size_t pos = prompt.size();  // positions every running beam's slot holds
    std::vector<float> lp(V);
    struct Cand {
      std::size_t beam;
      int32_t id;
      double logprob;
    };
    std::vector<Cand> cands;
    for (std::size_t step = 0; step < o.max_tokens && !beams.empty(); ++step) {
      // Candidates: the best 2W continuations of every beam (enough to refill W beams after finishes).
      cands.clear();
      for (std::size_t b = 0; b < beams.size(); ++b) {
        log_softmax(std::span<const float>(logits.data() + b * V, V), lp);
        std::vector<int32_t> ids(V);
        for (std::size_t i = 0; i < V; ++i) ids[i] = static_cast<int32_t>(i);
        const std::size_t k = std::min(V, 2 * W);
        std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                          [&](int32_t x, int32_t y) { return lp[x] > lp[y] || (lp[x] == lp[y] && x < y); });
        for (std::size_t i = 0; i < k; ++i) cands.push_back(Cand{b, ids[i], beams[b].logprob + lp[ids[i]]});
      }
      std::stable_sort(cands.begin(), cands.end(), [](const Cand& x, const Cand& y) { return x.logprob > y.logprob; });
      std::vector<Beam> next;
      for (std::size_t i = 0; i < cands.size() && next.size() < W; ++i) {
        const Cand& cd = cands[i];
        if (ends(cd.id)) {
          // HF: a finished hypothesis counts only if it is among the best W candidates of this step.
          if (i < W) {
            const auto& t = beams[cd.beam].tokens;
            done.push_back(BeamHypothesis{t, cd.logprob, score_of(cd.logprob, t.size() + 1), true});
          }
          continue;
        }
        Beam nb{beams[cd.beam].slot, beams[cd.beam].tokens, cd.logprob};
        nb.tokens.push_back(cd.id);
        next.push_back(std::move(nb));
      }
      std::sort(done.begin(), done.end(), [](const BeamHypothesis& a, const BeamHypothesis& b) { return a.score > b.score; });
      if (done.size() > W) done.resize(W);
      const bool last = step + 1 == o.max_tokens || pos + 1 >= cap;
      if (done.size() >= W) {
        if (o.early_stopping) { beams.clear(); break; }
        // Could a running beam still beat the worst finished one? (HF's heuristic: at its current length.)
        double best_running = -std::numeric_limits<double>::infinity();
        for (const auto& nb : next) best_running = std::max(best_running, score_of(nb.logprob, nb.tokens.size()));
        if (best_running <= done.back().score) { beams.clear(); break; }
      }
      beams = std::move(next);
      if (last || beams.empty()) break;
      assign_slots(beams, pos);
      // One pass: every beam's newest token.
      slices_.clear();
      for (const auto& b : beams)
        slices_.push_back(SequenceSlice{&slots_[b.slot], pos, std::span<const int32_t>(&b.tokens.back(), 1), SequenceSlice::Logits::Last});
      logits.resize(beams.size() * V);
      model_->forward_batch(slices_, scratch_, logits);
      ++pos;
    }
    // Beams still running when the budget ran out are hypotheses too.
    for (const auto& b : beams) done.push_back(BeamHypothesis{b.tokens, b.logprob, score_of(b.logprob, b.tokens.size()), false});
    std::stable_sort(done.begin(), done.end(), [](const BeamHypothesis& a, const BeamHypothesis& b) { return a.score > b.score; });
    if (done.size() > o.n_best) done.resize(o.n_best);
    return done;
  }

 private:
  void ensure_slots(std::size_t w) {
    if (slots_.size() >= w) return;
    const auto& c = model_->config();
    const std::size_t ctx = opt_.context ? opt_.context : std::min<std::size_t>(c.context_len, 4096);
    while (slots_.size() < w) slots_.emplace_back(c, ctx, model_->kv_options(opt_));
  }

  /// Gives every beam a slot holding its prefix: the first beam continuing a slot keeps it, the
  /// others get copies of it in slots no beam continues.
  template <class Beam>
  void assign_slots(std::vector<Beam>& beams, std::size_t pos) {
    std::vector<int> claimed(slots_.size(), 0);
    std::vector<std::size_t> need;  // beams whose parent slot is taken by an earlier beam
    for (std::size_t i = 0; i < beams.size(); ++i) {
      if (!claimed[beams[i].slot]) claimed[beams[i].slot] = 1;
      else need.push_back(i);
    }
    std::size_t free = 0;
    for (std::size_t i : need) {
      while (claimed[free]) ++free;
      slots_[free].restore(slots_[beams[i].slot].snapshot(pos));
      claimed[free] = 1;
      beams[i].slot = free;
    }
  }

  static void log_softmax(std::span<const float> x, std::vector<float>& out) {
    const float mx = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (float v : x) sum += std::exp(static_cast<double>(v) - mx);
    const double lse = mx + std::log(sum);
    for (std::size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>(x[i] - lse);
  }

  std::shared_ptr<const Model> model_;
  SessionOptions opt_;
  BatchScratch scratch_;
  std::vector<KvCache> slots_;
  std::vector<SequenceSlice> slices_;
};

}  // namespace llmforge
