// SPDX-License-Identifier: MIT
// Server metrics in the Prometheus text format: requests by path and status, tokens, queue depth,
// batch size, request latency and time-to-first-token histograms.
#pragma once

#include <array>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "scheduler.hpp"

namespace llmforge::server {

/// A Prometheus histogram with fixed upper bounds (seconds).
class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  void observe(double v) {
    for (std::size_t i = 0; i < kBounds.size(); ++i)
      if (v <= kBounds[i]) ++counts_[i];
    ++count_;
    sum_ += v;
  }
  void render(std::string& out, const std::string& name, const std::string& help) const {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
    char buf[512];
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s_bucket{le=\"%g\"} %llu\n", name.c_str(), kBounds[i], static_cast<unsigned long long>(counts_[i]));
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name.c_str(),
                  static_cast<unsigned long long>(count_), name.c_str(), sum_, name.c_str(), static_cast<unsigned long long>(count_));
    out += buf;
  }

 private:
  std::array<uint64_t, kBounds.size()> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

/// Everything /metrics reports that the scheduler does not count itself. Thread-safe.
class Metrics {
 public:
  void observe_request(const std::string& path, int status, double seconds) {
    std::lock_guard lock(mu_);
    ++requests_[{known_path(path), status}];
    latency_.observe(seconds);
  }
  void observe_ttft(double seconds) {
    std::lock_guard lock(mu_);
    ttft_.observe(seconds);
  }
  void count_tokens(std::size_t prompt, std::size_t completion) {
    std::lock_guard lock(mu_);
    prompt_tokens_ += prompt;
    completion_tokens_ += completion;
  }
  void queued_request() {
    std::lock_guard lock(mu_);
    ++accepted_;
  }

  [[nodiscard]] std::string render(const SchedulerStats& s) const {
    std::lock_guard lock(mu_);
    std::string out;
    out += "# HELP llmforge_requests_total HTTP requests answered, by path and status.\n# TYPE llmforge_requests_total counter\n";
    for (const auto& [k, v] : requests_)
      out += "llmforge_requests_total{path=\"" + k.first + "\",status=\"" + std::to_string(k.second) + "\"} " + std::to_string(v) + "\n";
    auto counter = [&](const char* name, const char* help, uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " + std::to_string(v) + "\n";
    };
    auto gauge = [&](const char* name, const char* help, uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " + std::to_string(v) + "\n";
    };
    counter("llmforge_prompt_tokens_total", "Prompt tokens of answered requests.", prompt_tokens_);
    counter("llmforge_completion_tokens_total", "Tokens generated for answered requests.", completion_tokens_);
    counter("llmforge_generated_tokens_total", "Tokens sampled by the scheduler.", s.generated_tokens);
    counter("llmforge_prompt_tokens_processed_total", "Prompt tokens given to the scheduler.", s.prompt_tokens);
    counter("llmforge_prompt_tokens_cached_total", "Prompt tokens found in a slot's cache (not processed again).", s.cached_prompt_tokens);
    counter("llmforge_scheduler_steps_total", "Forward steps over the running sequences.", s.steps);
    counter("llmforge_generation_requests_total", "Generation requests accepted into the queue.", accepted_);
    counter("llmforge_rejected_requests_total", "Generation requests refused with 503 (queue full).", s.rejected);
    gauge("llmforge_queue_depth", "Requests waiting for a slot.", s.queued);
    gauge("llmforge_slots", "Slots (sequences that run at the same time).", s.slots);
    gauge("llmforge_slots_active", "Slots running a request.", s.active);
    gauge("llmforge_batch_size", "Sequences advanced by the last step.", s.last_batch);
    latency_.render(out, "llmforge_request_duration_seconds", "Time from request to the end of the response.");
    ttft_.render(out, "llmforge_time_to_first_token_seconds", "Time from request to the first generated token.");
    return out;
  }

 private:
  /// Unknown paths are folded into one label, so clients cannot grow the label set.
  static std::string known_path(const std::string& p) {
    static const char* kPaths[] = {"/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                                   "/api/generate", "/api/chat", "/api/embed", "/api/embeddings", "/api/tags", "/api/show",
                                   "/api/ps", "/api/version", "/"};
    for (const char* k : kPaths)
      if (p == k) return k;
    if (p.rfind("/v1/models/", 0) == 0) return "/v1/models/{id}";
    return "other";
  }

  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  Histogram latency_, ttft_;
  uint64_t prompt_tokens_ = 0, completion_tokens_ = 0, accepted_ = 0;
};

}  // namespace llmforge::server
