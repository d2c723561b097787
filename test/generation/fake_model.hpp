// SPDX-License-Identifier: MIT
// A scripted Model for generation tests: its logits make a greedy sampler pick the next token of a
// script, optionally after a delay, over a small hand-made vocabulary whose texts are known.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <llmforge/llmforge.hpp>

namespace llmforge::test {

/// Ids of the test vocabulary.
enum TestToken : int32_t {
  kUnk = 0, kBos = 1, kEos = 2, kEot = 3, kEom = 4, kHello = 5, kWor = 6, kLd = 7, kBang = 8, kEn = 9, kD = 10,
  kThe = 11, kByteC3 = 12, kByteA9 = 13, kCaf = 14, kImEnd = 15,
};

/// A SentencePiece vocabulary: "<unk>", "<s>", "</s>" (EOS), "<|eot|>" (tokenizer.ggml.eot_token_id),
/// "<|eom|>" (eom), " Hello", " wor", "ld", "!", " EN", "D", " the", bytes C3 and A9 (é), " caf",
/// and "<|im_end|>" (a well-known end-of-turn marker, not named by any id).
inline std::shared_ptr<const tokenizer::Tokenizer> test_tokenizer() {
  using tokenizer::TokenType;
  tokenizer::Vocab v;
  v.kind = tokenizer::ModelKind::Spm;
  v.tokens = {"<unk>", "<s>", "</s>", "<|eot|>", "<|eom|>", "\xE2\x96\x81Hello", "\xE2\x96\x81wor", "ld", "!",
              "\xE2\x96\x81" "EN", "D", "\xE2\x96\x81the", "<0xC3>", "<0xA9>", "\xE2\x96\x81" "caf", "<|im_end|>"};
  v.scores.assign(v.tokens.size(), 0.0f);
  v.types.assign(v.tokens.size(), TokenType::Normal);
  for (int i : {1, 2, 3, 4, 15}) v.types[static_cast<std::size_t>(i)] = TokenType::Control;
  v.types[0] = TokenType::Unknown;
  v.types[kByteC3] = v.types[kByteA9] = TokenType::Byte;
  v.special.unk = kUnk, v.special.bos = kBos, v.special.eos = kEos, v.special.eot = kEot, v.special.eom = kEom;
  v.add_bos = true;
  v.index();
  v.collect_eog();
  return std::make_shared<const tokenizer::Tokenizer>(std::move(v));
}

/// Emits `script[k]` after the k-th forward pass of a sequence (the prefill is pass 0), then repeats
/// the last entry; each pass sleeps `delay` first.
class FakeModel : public Model {
 public:
  explicit FakeModel(std::vector<int32_t> script, std::chrono::milliseconds delay = {})
      : script_(std::move(script)), delay_(delay) {
    config_.num_layers = 1, config_.num_heads = 1, config_.num_kv_heads = 1, config_.head_dim = 1, config_.value_dim = 1;
    config_.vocab_size = 16, config_.context_len = 256;
    set_tokenizer(test_tokenizer());
  }
  [[nodiscard]] const ModelConfig& config() const noexcept override { return config_; }
  [[nodiscard]] const io::Metadata& metadata() const noexcept override { return metadata_; }
  [[nodiscard]] std::size_t weight_bytes() const noexcept override { return 0; }
  void forward(Session& s, std::span<const int32_t> tokens, std::span<float> logits, bool) const override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    step_ = s.pos == 0 ? 0 : step_ + 1;
    s.pos += tokens.size();
    ++passes_;
    std::fill(logits.begin(), logits.end(), -10.0f);
    logits[static_cast<std::size_t>(script_[std::min(step_, script_.size() - 1)])] = 10.0f;
  }
  /// Forward passes so far (prefill and decode).
  [[nodiscard]] std::size_t passes() const noexcept { return passes_; }

 private:
  ModelConfig config_;
  io::Metadata metadata_{"fake.gguf"};
  std::vector<int32_t> script_;
  std::chrono::milliseconds delay_;
  mutable std::size_t step_ = 0;
  mutable std::atomic<std::size_t> passes_{0};
};

}  // namespace llmforge::test
