// SPDX-License-Identifier: MIT
// `llmforge serve`: OpenAI- and Ollama-compatible HTTP endpoints over one model, on cpp-httplib.
// Requests are validated (protocol.hpp), run by the slot scheduler (scheduler.hpp), and answered as
// JSON, SSE (OpenAI `stream: true`) or NDJSON (Ollama streaming).
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <llmforge/chat.hpp>
#include <llmforge/llmforge.hpp>

#include "metrics.hpp"
#include "protocol.hpp"
#include "scheduler.hpp"
#include "sha256.hpp"

namespace llmforge::server {

/// Settings of `llmforge serve`.
struct ServerOptions {
  std::filesystem::path model_path;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;                 ///< empty: no authentication
  std::vector<std::string> aliases;    ///< further names the model answers to
  std::size_t slots = 4;               ///< sequences generated at the same time
  std::size_t queue = 16;              ///< requests waiting for a slot before 503
  std::size_t context = 0;             ///< positions per slot (0 = the model's, at most 4096)
  std::size_t threads = 0;             ///< compute threads (0 = all cores)
  std::size_t body_limit = 4u << 20;   ///< largest request body in bytes (413 above)
  double timeout = 600;                ///< seconds a request may take, queue time included
  std::size_t http_threads = 32;       ///< connections served at the same time
  bool log_requests = true;            ///< one JSON line per request on stderr
};

/// One event from the scheduler thread to the HTTP thread that serves the request.
struct Event {
  enum Kind { Start, Token, ChoiceDone, Done } kind;
  TokenEvent token;
  ChoiceResult result;
};

/// A thread-safe queue of Events for one request.
class Channel {
 public:
  void push(Event e) {
    {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
    }
    cv_.notify_one();
  }
  /// Waits for the next event (at most `wait`); false on timeout.
  bool pop(Event& out, std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, wait, [&] { return !events_.empty(); })) return false;
    out = std::move(events_.front());
    events_.pop_front();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
};

namespace detail {

inline std::string random_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(salt ^ (++counter * 0x9E3779B97F4A7C15ull)));
  return std::string(prefix) + buf;
}

inline int64_t unix_now() { return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }

/// RFC 3339 UTC time with nanoseconds, as Ollama's created_at.
inline std::string rfc3339_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() % 1000000000;
  char out[96];
  std::snprintf(out, sizeof out, "%s.%09lldZ", buf, static_cast<long long>(ns));
  return out;
}

inline std::string rfc3339(std::filesystem::file_time_type ft) {
  const auto sys = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      ft - std::filesystem::file_time_type::clock::now() + std::chrono::system_clock::now());
  const std::time_t t = std::chrono::system_clock::to_time_t(sys);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline int64_t ns_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

/// What the request log line and the metrics learn while a request is served (one request per
/// httplib worker thread at a time, the streaming provider included).
struct RequestInfo {
  std::chrono::steady_clock::time_point start;
  std::size_t prompt_tokens = 0, completion_tokens = 0;
  double ttft = -1;
  std::string error;
};
inline RequestInfo& request_info() {
  thread_local RequestInfo info;
  return info;
}

/// "260K", "1.1B": a parameter count the way Ollama shows it.
inline std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.1fB", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.0fM", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0fK", n / 1e3);
  return buf;
}

}  // namespace detail

/// The server: one model, its scheduler and embedder, and the HTTP routes.
class Server {
 public:
  /// Loads the model, its chat template and the scheduler. @throws llmforge::Error on a bad model.
  explicit Server(ServerOptions opt) : opt_(std::move(opt)) {
    model_ = load_model(opt_.model_path);
    name_ = opt_.model_path.stem().string();
    names_.push_back(name_);
    for (const auto& a : opt_.aliases)
      if (!a.empty()) names_.push_back(a);
    try {
      chat_ = chat::load_chat_template(opt_.model_path, [](const std::string& msg) { std::fprintf(stderr, "llmforge serve: %s\n", msg.c_str()); });
      template_ = chat_->select(false);
    } catch (const Error& e) {
      std::fprintf(stderr, "llmforge serve: no chat template (%s); chat endpoints answer 400\n", e.what());
    }
    SessionOptions so{opt_.context, opt_.threads};
    auto engine = std::make_unique<BatchEngine>(model_, std::max<std::size_t>(1, opt_.slots), so);
    context_ = engine->capacity(0);
    scheduler_ = std::make_unique<Scheduler>(model_, std::move(engine), Scheduler::Options{opt_.queue});
    embedder_ = std::make_unique<Embedder>(model_, SessionOptions{opt_.context, opt_.threads});
    std::error_code ec;
    file_size_ = std::filesystem::file_size(opt_.model_path, ec);
    modified_ = detail::rfc3339(std::filesystem::last_write_time(opt_.model_path, ec));
  }

  [[nodiscard]] const std::string& model_name() const noexcept { return name_; }
  [[nodiscard]] Scheduler& scheduler() noexcept { return *scheduler_; }

  /// Registers every route and the security, error and logging hooks on `http`.
  void install(httplib::Server& http) {
    http.set_payload_max_length(opt_.body_limit);
    http.set_keep_alive_timeout(2);
    http.set_read_timeout(30);
    const std::size_t threads = opt_.http_threads;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      detail::request_info() = detail::RequestInfo{std::chrono::steady_clock::now()};
      if (opt_.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
      std::string given;
      const auto auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
      else if (req.has_header("X-Api-Key")) given = req.get_header_value("X-Api-Key");
      if (!given.empty() && constant_time_equal(given, opt_.api_key)) return httplib::Server::HandlerResponse::Unhandled;
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(req, res, ApiError(401, given.empty() ? "missing API key: send 'Authorization: Bearer KEY'" : "invalid API key"));
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404) send_error(req, res, ApiError(404, "no route for " + req.method + " " + req.path));
      else if (res.status == 413)
        send_error(req, res, ApiError(413, "the request body exceeds the limit of " + std::to_string(opt_.body_limit) + " bytes"));
      else send_error(req, res, ApiError(res.status, "HTTP error " + std::to_string(res.status)));
    });
    http.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        send_error(req, res, ApiError(500, std::string("internal error: ") + e.what()));
      } catch (...) {
        send_error(req, res, ApiError(500, "internal error"));
      }
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) { log_request(req, res); });

    auto route = [this](auto fn) {
      return [this, fn](const httplib::Request& req, httplib::Response& res) {
        try {
          (this->*fn)(req, res);
        } catch (const ApiError& e) {
          send_error(req, res, e);
        } catch (const Error& e) {
          send_error(req, res, ApiError(400, e.what()));
        }
      };
    };
    http.Get("/health", route(&Server::health));
    http.Get("/metrics", route(&Server::metrics_text));
    http.Get("/v1/models", route(&Server::openai_models));
    http.Get(R"(/v1/models/(.+))", route(&Server::openai_model));
    http.Post("/v1/chat/completions", route(&Server::openai_chat));
    http.Post("/v1/completions", route(&Server::openai_completions));
    http.Post("/v1/embeddings", route(&Server::openai_embeddings));
    http.Post("/api/generate", route(&Server::ollama_generate));
    http.Post("/api/chat", route(&Server::ollama_chat));
    http.Post("/api/embed", route(&Server::ollama_embed));
    http.Post("/api/embeddings", route(&Server::ollama_embeddings_legacy));
    http.Get("/api/tags", route(&Server::ollama_tags));
    http.Post("/api/show", route(&Server::ollama_show));
    http.Get("/api/ps", route(&Server::ollama_ps));
    http.Get("/api/version", route(&Server::ollama_version));
    http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("llmforge is running", "text/plain"); });
  }

  /// Cancels queued and running requests (they end as cancelled) and stops the scheduler thread.
  void shutdown() { scheduler_->stop(); }

 private:
  static bool is_ollama(const httplib::Request& req) { return req.path.rfind("/api/", 0) == 0; }

  void send_error(const httplib::Request& req, httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    if (e.status == 503) res.set_header("Retry-After", "1");
    res.set_content((is_ollama(req) ? ollama_error(e) : openai_error(e)).dump(), "application/json");
    detail::request_info().error = e.what();
  }

  /// The served model's canonical name for `requested`; 404 for a name it does not answer to.
  const std::string& resolve_model(const std::string& requested) const {
    for (const auto& n : names_)
      if (requested == n || requested == n + ":latest") return name_;
    throw ApiError(404, "model '" + requested + "' not found; this server has " + name_, "model", "model_not_found");
  }

  // ---- generation ------------------------------------------------------------------------------

  /// A request turned into a scheduler Job, with its channel.
  struct Prepared {
    std::shared_ptr<Job> job;
    std::shared_ptr<Channel> channel;
    CancelToken cancel;
    std::size_t prompt_tokens = 0;
  };

  std::string render_chat(const Json& messages) const {
    if (!template_) throw ApiError(400, "the model has no chat template; use the completion endpoints");
    chat::ChatInputs in;
    in.add_generation_prompt = true;
    in.bos_token = chat_->bos_token;
    in.eos_token = chat_->eos_token;
    try {
      return template_->apply(nlohmann::ordered_json::parse(messages.dump()), in);
    } catch (const Error& e) {
      throw ApiError(400, std::string("the chat template rejected the messages: ") + e.what(), "messages");
    }
  }

  std::vector<int32_t> tokenize_prompt(const GenerationRequest& r) const {
    const auto& tok = model_->tokenizer();
    if (r.prompt_tokens) {
      for (int32_t id : *r.prompt_tokens)
        if (static_cast<std::size_t>(id) >= model_->config().vocab_size)
          throw ApiError(400, "'prompt' holds token id " + std::to_string(id) + ", outside the vocabulary of " +
                              std::to_string(model_->config().vocab_size), "prompt");
      return *r.prompt_tokens;
    }
    if (r.chat) {
      const std::string text = render_chat(r.messages);
      const bool has_bos = chat_->bos_token && !chat_->bos_token->empty() && text.rfind(*chat_->bos_token, 0) == 0;
      return tok.encode(text, tokenizer::EncodeOptions{!has_bos, true});
    }
    // Ollama generate without `raw`: the model's own template when its file has one, otherwise the
    // prompt as it is (Ollama's default template is "{{ .Prompt }}"), after the system prompt if any.
    if (r.ollama_template && template_ && !chat_->builtin) {
      Json messages = Json::array();
      if (!r.system.empty()) messages.push_back({{"role", "system"}, {"content", r.system}});
      messages.push_back({{"role", "user"}, {"content", r.prompt}});
      const std::string text = render_chat(messages);
      const bool has_bos = chat_->bos_token && !chat_->bos_token->empty() && text.rfind(*chat_->bos_token, 0) == 0;
      return tok.encode(text, tokenizer::EncodeOptions{!has_bos, true});
    }
    if (r.ollama_template && !r.system.empty()) return tok.encode(r.system + "\n\n" + r.prompt, tokenizer::EncodeOptions{true, false});
    return tok.encode(r.prompt, tokenizer::EncodeOptions{true, false});
  }

  Prepared prepare(const GenerationRequest& r, std::vector<int32_t> prompt) {
    if (prompt.empty()) throw ApiError(400, "the prompt has no tokens", r.chat ? "messages" : "prompt");
    if (prompt.size() >= context_)
      throw ApiError(400, "the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " + std::to_string(context_),
                     r.chat ? "messages" : "prompt", "context_length_exceeded");
    Prepared p;
    p.channel = std::make_shared<Channel>();
    p.cancel = CancelToken::make();
    p.prompt_tokens = prompt.size();
    auto job = std::make_shared<Job>();
    job->prompt = std::move(prompt);
    job->n = r.n;
    job->sampler = r.sampler;
    job->seed = r.seed ? *r.seed : std::random_device{}();
    job->logprobs = r.logprobs;
    job->logprobs_top = r.top_logprobs;
    job->stop.max_tokens = std::min(r.max_tokens.value_or(context_), context_ - job->prompt.size());
    job->stop.stop = r.stop;
    job->stop.stop_at_eos = !r.ignore_eos;
    job->stop.cancel = p.cancel;
    job->stop.deadline = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(static_cast<int64_t>(1000 * std::min(opt_.timeout, r.timeout.value_or(opt_.timeout))));
    auto ch = p.channel;
    job->on_start = [ch] { ch->push(Event{Event::Start, {}, {}}); };
    job->on_token = [ch](const TokenEvent& t) { ch->push(Event{Event::Token, t, {}}); };
    job->on_choice_done = [ch](const ChoiceResult& c) { ch->push(Event{Event::ChoiceDone, {}, c}); };
    job->on_done = [ch] { ch->push(Event{Event::Done, {}, {}}); };
    p.job = std::move(job);
    if (!scheduler_->submit(p.job))
      throw ApiError(503, "the server is busy (all " + std::to_string(opt_.slots) + " slots and " + std::to_string(opt_.queue) +
                          " queue places are taken); retry later");
    metrics_.queued_request();
    return p;
  }

  /// Waits for the next event; a request whose client is gone or that outlives the server's patience
  /// is cancelled by the caller.
  static Event next_event(Channel& ch) {
    Event e;
    while (!ch.pop(e, std::chrono::milliseconds(1000))) {
    }
    return e;
  }

  /// Collects a whole (non-streaming) run: every choice's result, in choice order.
  std::vector<ChoiceResult> collect(Prepared& p) {
    std::vector<ChoiceResult> out(p.job->n);
    const auto t0 = std::chrono::steady_clock::now();
    bool first = true;
    for (;;) {
      Event e = next_event(*p.channel);
      if (e.kind == Event::Token && first) {
        first = false;
        note_first_token(t0);
      }
      if (e.kind == Event::ChoiceDone && e.result.choice < out.size()) out[e.result.choice] = std::move(e.result);
      if (e.kind == Event::Done) break;
    }
    for (const auto& c : out)
      if (!c.error.empty()) throw ApiError(503, "the request was not completed: " + c.error);
    return out;
  }

  void note_first_token(std::chrono::steady_clock::time_point t0) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    detail::request_info().ttft = s;
    metrics_.observe_ttft(s);
  }

  Json token_logprob_entry(int32_t id, float lp) const {
    const std::string text = model_->tokenizer().token_to_piece(id);
    Json bytes = Json::array();
    for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
    return Json{{"token", text}, {"logprob", lp}, {"bytes", bytes}};
  }
  Json chat_logprobs(const std::vector<StepLogprobs>& steps) const {
    Json content = Json::array();
    for (const auto& s : steps) {
      Json e = token_logprob_entry(s.chosen.id, s.chosen.logprob);
      Json top = Json::array();
      for (const auto& t : s.top) top.push_back(token_logprob_entry(t.id, t.logprob));
      e["top_logprobs"] = top;
      content.push_back(std::move(e));
    }
    return Json{{"content", content}};
  }
  Json completion_logprobs(const std::vector<StepLogprobs>& steps, std::size_t offset) const {
    Json tokens = Json::array(), lps = Json::array(), tops = Json::array(), offsets = Json::array();
    for (const auto& s : steps) {
      const std::string text = model_->tokenizer().token_to_piece(s.chosen.id);
      tokens.push_back(text);
      lps.push_back(s.chosen.logprob);
      Json top = Json::object();
      for (const auto& t : s.top) top[model_->tokenizer().token_to_piece(t.id)] = t.logprob;
      tops.push_back(top);
      offsets.push_back(offset);
      offset += text.size();
    }
    return Json{{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
  }

  static Json usage(std::size_t prompt, std::size_t completion) {
    return Json{{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
  }

  /// Writes `data` to the client; on failure (the client went away) cancels the request.
  static bool write(httplib::DataSink& sink, const std::string& data, const CancelToken& cancel) {
    if (sink.write(data.data(), data.size())) return true;
    cancel.request_stop();
    return false;
  }

  /// Streams a request's events through `per_event` until Done, then `finish`; stops early (and
  /// cancels the generation) when the client disconnects.
  template <class OnEvent, class OnFinish>
  void stream(httplib::Response& res, const char* content_type, Prepared p, OnEvent per_event, OnFinish finish) {
    auto state = std::make_shared<Prepared>(std::move(p));
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");  // nginx: pass chunks through as they come
    res.set_chunked_content_provider(content_type, [this, state, per_event, finish](std::size_t, httplib::DataSink& sink) mutable {
      const auto t0 = std::chrono::steady_clock::now();
      bool first = true, alive = true;
      std::size_t completion = 0;
      for (;;) {
        Event e = next_event(*state->channel);
        if (e.kind == Event::Done) break;
        if (!alive) continue;  // drain until the scheduler lets go of the job
        if (e.kind == Event::Token) {
          if (first) first = false, note_first_token(t0);
          if (e.token.id >= 0) ++completion;
        }
        std::string out = per_event(e);
        if (!out.empty() && !write(sink, out, state->cancel)) alive = false;
      }
      detail::request_info().completion_tokens = completion;
      if (alive) {
        const std::string out = finish();
        if (!out.empty()) write(sink, out, state->cancel);
        sink.done();
      }
      return alive;
    });
  }

  void openai_chat(const httplib::Request& req, httplib::Response& res) { openai_generation(req, res, true); }
  void openai_completions(const httplib::Request& req, httplib::Response& res) { openai_generation(req, res, false); }

  void openai_generation(const httplib::Request& req, httplib::Response& res, bool chat) {
    const GenerationRequest r = parse_openai_generation(parse_body(req.body), chat);
    const std::string model = resolve_model(r.model);
    Prepared p = prepare(r, tokenize_prompt(r));
    detail::request_info().prompt_tokens = p.prompt_tokens;
    const std::string id = detail::random_id(chat ? "chatcmpl-" : "cmpl-");
    const int64_t created = detail::unix_now();
    const std::size_t prompt_tokens = p.prompt_tokens;
    const std::string echo = r.echo ? r.prompt : std::string();
    if (!r.stream) {
      const auto results = collect(p);
      Json choices = Json::array();
      std::size_t completion = 0;
      for (const auto& c : results) {
        completion += c.tokens.size();
        Json choice{{"index", c.choice}, {"finish_reason", openai_finish_reason(c.reason)}};
        if (chat) {
          choice["message"] = {{"role", "assistant"}, {"content", c.text}};
          choice["logprobs"] = r.logprobs ? chat_logprobs(c.logprobs) : Json();
        } else {
          choice["text"] = echo + c.text;
          choice["logprobs"] = r.logprobs ? completion_logprobs(c.logprobs, echo.size()) : Json();
        }
        choices.push_back(std::move(choice));
      }
      detail::request_info().completion_tokens = completion;
      metrics_.count_tokens(prompt_tokens, completion);
      Json body{{"id", id}, {"object", chat ? "chat.completion" : "text_completion"}, {"created", created}, {"model", model},
                {"system_fingerprint", "llmforge"}, {"choices", choices}, {"usage", usage(prompt_tokens, completion)}};
      res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
      return;
    }
    const bool logprobs = r.logprobs, include_usage = r.include_usage;
    auto completion = std::make_shared<std::size_t>(0);
    auto started = std::make_shared<std::vector<bool>>(r.n, false);
    auto chunk = [=](Json choices) {
      Json c{{"id", id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", created}, {"model", model},
             {"system_fingerprint", "llmforge"}, {"choices", std::move(choices)}};
      return "data: " + c.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
    };
    stream(res, "text/event-stream", std::move(p),
           [=, this](const Event& e) -> std::string {
             std::string out;
             if (e.kind == Event::Token) {
               const std::size_t k = e.token.choice;
               if (e.token.id >= 0) ++*completion;
               if (chat && k < started->size() && !(*started)[k]) {
                 (*started)[k] = true;
                 out += chunk(Json::array({Json{{"index", k}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                                                {"finish_reason", nullptr}}}));
               }
               if (e.token.text.empty() && !e.token.logprobs) return out;
               Json choice{{"index", k}, {"finish_reason", nullptr}};
               std::vector<StepLogprobs> lp;
               if (e.token.logprobs) lp.push_back(*e.token.logprobs);
               if (chat) {
                 choice["delta"] = {{"content", e.token.text}};
                 choice["logprobs"] = logprobs && !lp.empty() ? chat_logprobs(lp) : Json();
               } else {
                 choice["text"] = e.token.text;
                 choice["logprobs"] = logprobs && !lp.empty() ? completion_logprobs(lp, 0) : Json();
               }
               out += chunk(Json::array({choice}));
             } else if (e.kind == Event::ChoiceDone) {
               if (!e.result.error.empty()) {
                 Json err = openai_error(ApiError(503, "the request was not completed: " + e.result.error));
                 return "data: " + err.dump() + "\n\n";
               }
               Json choice{{"index", e.result.choice}, {"finish_reason", openai_finish_reason(e.result.reason)}, {"logprobs", nullptr}};
               if (chat) choice["delta"] = Json::object();
               else choice["text"] = "";
               out += chunk(Json::array({choice}));
             }
             return out;
           },
           [=, this]() -> std::string {
             metrics_.count_tokens(prompt_tokens, *completion);
             std::string out;
             if (include_usage) {
               Json c{{"id", id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", created}, {"model", model},
                      {"choices", Json::array()}, {"usage", usage(prompt_tokens, *completion)}};
               out += "data: " + c.dump() + "\n\n";
             }
             return out + "data: [DONE]\n\n";
           });
  }

  void ollama_generate(const httplib::Request& req, httplib::Response& res) { ollama_generation(req, res, false); }
  void ollama_chat(const httplib::Request& req, httplib::Response& res) { ollama_generation(req, res, true); }

  void ollama_generation(const httplib::Request& req, httplib::Response& res, bool chat) {
    const GenerationRequest r = parse_ollama_generation(parse_body(req.body), chat);
    const std::string model = resolve_model(r.model) + ":latest";
    if (!chat && r.prompt.empty()) {  // Ollama: an empty prompt only loads the model
      res.set_content(Json{{"model", model}, {"created_at", detail::rfc3339_now()}, {"response", ""}, {"done", true}, {"done_reason", "load"}}.dump(),
                      "application/json");
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    Prepared p = prepare(r, tokenize_prompt(r));
    const std::size_t prompt_tokens = p.prompt_tokens;
    detail::request_info().prompt_tokens = prompt_tokens;
    auto job = p.job;
    auto final_fields = [=](std::size_t eval_count, const std::vector<int32_t>& tokens, StopReason reason) {
      const auto now = std::chrono::steady_clock::now();
      const auto first = job->first_token.load();
      const auto prefill_end = first == std::chrono::steady_clock::time_point{} ? now : first;
      Json j{{"done", true}, {"done_reason", ollama_done_reason(reason)}, {"total_duration", detail::ns_between(t0, now)},
             {"load_duration", 0}, {"prompt_eval_count", prompt_tokens}, {"prompt_eval_duration", detail::ns_between(job->started.load(), prefill_end)},
             {"eval_count", eval_count}, {"eval_duration", detail::ns_between(prefill_end, now)}};
      if (!chat) {
        std::vector<int32_t> context = job->prompt;
        context.insert(context.end(), tokens.begin(), tokens.end());
        j["context"] = context;
      }
      return j;
    };
    if (!r.stream) {
      const auto results = collect(p);
      const auto& c = results.front();
      Json body{{"model", model}, {"created_at", detail::rfc3339_now()}};
      if (chat) body["message"] = {{"role", "assistant"}, {"content", c.text}};
      else body["response"] = c.text;
      body.update(final_fields(c.tokens.size(), c.tokens, c.reason));
      detail::request_info().completion_tokens = c.tokens.size();
      metrics_.count_tokens(prompt_tokens, c.tokens.size());
      res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
      return;
    }
    auto tokens = std::make_shared<std::vector<int32_t>>();
    auto reason = std::make_shared<StopReason>(StopReason::MaxTokens);
    auto error = std::make_shared<std::string>();
    stream(res, "application/x-ndjson", std::move(p),
           [=](const Event& e) -> std::string {
             if (e.kind == Event::ChoiceDone) {
               *reason = e.result.reason;
               *error = e.result.error;
               return {};
             }
             if (e.kind != Event::Token) return {};
             if (e.token.id >= 0) tokens->push_back(e.token.id);
             if (e.token.text.empty()) return {};
             Json j{{"model", model}, {"created_at", detail::rfc3339_now()}, {"done", false}};
             if (chat) j["message"] = {{"role", "assistant"}, {"content", e.token.text}};
             else j["response"] = e.token.text;
             return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
           },
           [=, this]() -> std::string {
             metrics_.count_tokens(prompt_tokens, tokens->size());
             if (!error->empty()) return Json{{"error", "the request was not completed: " + *error}}.dump() + "\n";
             Json j{{"model", model}, {"created_at", detail::rfc3339_now()}};
             if (chat) j["message"] = {{"role", "assistant"}, {"content", ""}};
             else j["response"] = "";
             j.update(final_fields(tokens->size(), *tokens, *reason));
             return j.dump() + "\n";
           });
  }

  // ---- embeddings ------------------------------------------------------------------------------

  /// Embeds every input (texts or token lists) with the shared embedder; `truncate` cuts long inputs.
  std::vector<Embedding> embed_all(const EmbeddingRequest& r, std::size_t& tokens) {
    std::vector<std::vector<int32_t>> inputs = r.token_inputs;
    const auto& tok = model_->tokenizer();
    for (const auto& t : r.texts) inputs.push_back(tok.encode(t, tokenizer::EncodeOptions{true, false}));
    std::lock_guard lock(embed_mu_);
    const std::size_t ctx = embedder_->context();
    std::vector<Embedding> out;
    tokens = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      auto& ids = inputs[i];
      for (int32_t id : ids)
        if (static_cast<std::size_t>(id) >= model_->config().vocab_size)
          throw ApiError(400, "'input' holds token id " + std::to_string(id) + ", outside the vocabulary", "input");
      if (ids.empty()) throw ApiError(400, "'input[" + std::to_string(i) + "]' has no tokens", "input");
      if (ids.size() > ctx) {
        if (!r.truncate)
          throw ApiError(400, "'input[" + std::to_string(i) + "]' has " + std::to_string(ids.size()) + " tokens but the context holds " +
                              std::to_string(ctx), "input");
        ids.resize(ctx);
      }
      tokens += ids.size();
      out.push_back(embedder_->embed_tokens(ids, EmbedOptions{.pooling = r.pooling}));
    }
    return out;
  }

  void openai_embeddings(const httplib::Request& req, httplib::Response& res) {
    EmbeddingRequest r = parse_openai_embeddings(parse_body(req.body));
    r.truncate = false;
    const std::string model = resolve_model(r.model);
    std::size_t tokens = 0;
    const auto vecs = embed_all(r, tokens);
    Json data = Json::array();
    for (std::size_t i = 0; i < vecs.size(); ++i) {
      Json e{{"object", "embedding"}, {"index", i}};
      if (r.base64) e["embedding"] = base64(vecs[i].values.data(), vecs[i].values.size() * sizeof(float));
      else e["embedding"] = vecs[i].values;
      data.push_back(std::move(e));
    }
    detail::request_info().prompt_tokens = tokens;
    metrics_.count_tokens(tokens, 0);
    res.set_content(Json{{"object", "list"}, {"data", data}, {"model", model}, {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}.dump(),
                    "application/json");
  }

  void ollama_embed(const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    const EmbeddingRequest r = parse_ollama_embed(parse_body(req.body));
    const std::string model = resolve_model(r.model) + ":latest";
    std::size_t tokens = 0;
    const auto vecs = embed_all(r, tokens);
    Json embeddings = Json::array();
    for (const auto& v : vecs) embeddings.push_back(v.values);
    detail::request_info().prompt_tokens = tokens;
    metrics_.count_tokens(tokens, 0);
    res.set_content(Json{{"model", model}, {"embeddings", embeddings}, {"total_duration", detail::ns_between(t0, std::chrono::steady_clock::now())},
                         {"load_duration", 0}, {"prompt_eval_count", tokens}}.dump(),
                    "application/json");
  }

  /// The older POST /api/embeddings {model, prompt} -> {embedding}.
  void ollama_embeddings_legacy(const httplib::Request& req, httplib::Response& res) {
    const EmbeddingRequest r = parse_ollama_embed(parse_body(req.body));
    (void)resolve_model(r.model);
    std::size_t tokens = 0;
    const auto vecs = embed_all(r, tokens);
    res.set_content(Json{{"embedding", vecs.front().values}}.dump(), "application/json");
  }

  // ---- model information -----------------------------------------------------------------------

  Json details() const {
    const auto& md = model_->metadata();
    const std::string arch = md.get_string("general.architecture", "unknown");
    return Json{{"parent_model", ""}, {"format", "gguf"}, {"family", arch}, {"families", Json::array({arch})},
                {"parameter_size", detail::human_count(static_cast<double>(parameter_count()))},
                {"quantization_level", quantization_level()}};
  }
  std::size_t parameter_count() const {
    const auto& c = model_->config();
    // Weights of a decoder layer (attention + FFN) plus the embedding and output tables.
    const std::size_t attn = c.model_dim * (c.num_heads * c.head_dim) * 2 + c.model_dim * (c.num_kv_heads * c.head_dim) * 2;
    const std::size_t ffn = 3 * c.model_dim * c.ffn_dim;
    return c.num_layers * (attn + ffn) + 2 * c.vocab_size * c.model_dim;
  }
  std::string quantization_level() const {
    const auto& md = model_->metadata();
    static const char* kNames[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_1_F16", "Q4_2", "Q4_3", "Q8_0", "Q5_0", "Q5_1", "Q8_1",
                                   "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"};
    if (md.contains("general.file_type")) {
      const auto t = md.get_uint("general.file_type", 0);
      if (t < std::size(kNames)) return kNames[t];
    }
    return "F32";
  }
  std::string digest() {
    std::lock_guard lock(digest_mu_);
    if (digest_.empty()) digest_ = sha256_file(opt_.model_path);
    return digest_;
  }

  void openai_models(const httplib::Request&, httplib::Response& res) {
    Json data = Json::array();
    for (const auto& n : names_) data.push_back({{"id", n}, {"object", "model"}, {"created", created_}, {"owned_by", "llmforge"}});
    res.set_content(Json{{"object", "list"}, {"data", data}}.dump(), "application/json");
  }
  void openai_model(const httplib::Request& req, httplib::Response& res) {
    const std::string requested = req.matches[1];
    (void)resolve_model(requested);
    res.set_content(Json{{"id", requested}, {"object", "model"}, {"created", created_}, {"owned_by", "llmforge"}}.dump(), "application/json");
  }

  void ollama_tags(const httplib::Request&, httplib::Response& res) {
    Json models = Json::array();
    const std::string d = digest();
    for (const auto& n : names_)
      models.push_back({{"name", n + ":latest"}, {"model", n + ":latest"}, {"modified_at", modified_}, {"size", file_size_},
                        {"digest", d}, {"details", details()}});
    res.set_content(Json{{"models", models}}.dump(), "application/json");
  }

  void ollama_show(const httplib::Request& req, httplib::Response& res) {
    const Json j = parse_body(req.body);
    auto name = detail::string(j, "model", "model");
    if (!name) name = detail::string(j, "name", "name");
    if (!name) throw ApiError(400, "'model' is required", "model");
    (void)resolve_model(*name);
    Json info = Json::object();
    const auto& c = model_->config();
    const auto& md = model_->metadata();
    const std::string arch = md.get_string("general.architecture", "unknown");
    info["general.architecture"] = arch;
    info["general.parameter_count"] = parameter_count();
    info[arch + ".context_length"] = c.context_len;
    info[arch + ".embedding_length"] = c.model_dim;
    info[arch + ".block_count"] = c.num_layers;
    info[arch + ".attention.head_count"] = c.num_heads;
    info[arch + ".attention.head_count_kv"] = c.num_kv_heads;
    info["tokenizer.ggml.vocab_size"] = c.vocab_size;
    const std::string tpl = template_ && chat_ && !chat_->templates.empty() ? chat_->templates.front().second : "{{ .Prompt }}";
    res.set_content(Json{{"modelfile", "FROM " + opt_.model_path.string() + "\n"}, {"parameters", ""}, {"template", tpl},
                         {"details", details()}, {"model_info", info}, {"capabilities", Json::array({"completion", "embedding"})},
                         {"modified_at", modified_}}.dump(-1, ' ', false, Json::error_handler_t::replace),
                    "application/json");
  }

  void ollama_ps(const httplib::Request&, httplib::Response& res) {
    Json models = Json::array();
    models.push_back({{"name", name_ + ":latest"}, {"model", name_ + ":latest"}, {"size", file_size_}, {"digest", digest()},
                      {"details", details()}, {"expires_at", "2099-01-01T00:00:00Z"}, {"size_vram", 0}});
    res.set_content(Json{{"models", models}}.dump(), "application/json");
  }

  void ollama_version(const httplib::Request&, httplib::Response& res) {
    res.set_content(Json{{"version", "0.1.0"}}.dump(), "application/json");
  }

  void health(const httplib::Request&, httplib::Response& res) {
    const auto s = scheduler_->stats();
    res.set_content(Json{{"status", "ok"}, {"model", name_}, {"slots_idle", s.slots - s.active}, {"slots_processing", s.active},
                         {"queued", s.queued}}.dump(),
                    "application/json");
  }

  void metrics_text(const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(scheduler_->stats()), "text/plain; version=0.0.4");
  }

  void log_request(const httplib::Request& req, const httplib::Response& res) {
    const auto& info = detail::request_info();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - info.start).count();
    metrics_.observe_request(req.path, res.status, seconds);
    if (!opt_.log_requests) return;
    Json j{{"time", detail::rfc3339_now()}, {"remote", req.remote_addr}, {"method", req.method}, {"path", req.path}, {"status", res.status},
           {"ms", std::round(seconds * 1e4) / 10}};
    if (info.prompt_tokens) j["prompt_tokens"] = info.prompt_tokens;
    if (info.completion_tokens) j["completion_tokens"] = info.completion_tokens;
    if (info.ttft >= 0) j["ttft_ms"] = std::round(info.ttft * 1e4) / 10;
    if (!info.error.empty()) j["error"] = info.error;
    const std::string line = j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }

  ServerOptions opt_;
  std::shared_ptr<const Model> model_;
  std::string name_;
  std::vector<std::string> names_;
  std::optional<chat::ModelChatTemplate> chat_;
  std::optional<chat::ChatTemplate> template_;
  std::size_t context_ = 0;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Embedder> embedder_;
  std::mutex embed_mu_;
  Metrics metrics_;
  std::uintmax_t file_size_ = 0;
  std::string modified_;
  int64_t created_ = detail::unix_now();
  std::mutex digest_mu_;
  std::string digest_;
};

}  // namespace llmforge::server
