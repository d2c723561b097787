// SPDX-License-Identifier: MIT
// Request parsing and validation for the OpenAI- and Ollama-compatible endpoints: JSON bodies become
// plain request structs, or an ApiError (HTTP status + a message naming the field).
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

namespace llmforge::server {

using Json = nlohmann::json;

/// An error answered to the client: status, a message, and the request field at fault (if one is).
struct ApiError : std::runtime_error {
  int status;
  std::string param;
  std::string type;
  ApiError(int status_, std::string message, std::string param_ = {}, std::string type_ = {})
      : std::runtime_error(std::move(message)), status(status_), param(std::move(param_)), type(std::move(type_)) {
    if (type.empty())
      type = status == 401 ? "authentication_error" : status == 404 ? "not_found_error" : status == 503 ? "server_busy" :
             status >= 500 ? "server_error" : "invalid_request_error";
  }
};

/// OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
inline Json openai_error(const ApiError& e) {
  return Json{{"error", {{"message", e.what()}, {"type", e.type}, {"param", e.param.empty() ? Json() : Json(e.param)}, {"code", e.status}}}};
}
/// Ollama's error body: {"error": "message"}.
inline Json ollama_error(const ApiError& e) { return Json{{"error", e.what()}}; }

/// Parses a request body. @throws ApiError 400 naming the position of the syntax error.
inline Json parse_body(const std::string& body) {
  if (body.empty()) throw ApiError(400, "the request body is empty; expected a JSON object");
  Json j;
  try {
    j = Json::parse(body);
  } catch (const Json::parse_error& e) {
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return j;
}

namespace detail {

inline std::string type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    default: return "a number";
  }
}

/// The field `key` of `j`, or nullptr when absent or null (OpenAI treats null as "not given").
inline const Json* field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

inline std::string short_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

inline std::optional<double> number(const Json& j, const char* key, const std::string& name, double lo, double hi) {
  const Json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw ApiError(400, "'" + name + "' must be a number, got " + type_name(*v), name);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw ApiError(400, "'" + name + "' must be in [" + short_number(lo) + ", " + short_number(hi) + "], got " + v->dump(), name);
  return x;
}

inline std::optional<int64_t> integer(const Json& j, const char* key, const std::string& name, int64_t lo, int64_t hi) {
  const Json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer() && !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>()))
    throw ApiError(400, "'" + name + "' must be an integer, got " + (v->is_number() ? v->dump() : type_name(*v)), name);
  const double x = v->get<double>();
  if (x < static_cast<double>(lo) || x > static_cast<double>(hi))
    throw ApiError(400, "'" + name + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v->dump(), name);
  return v->is_number_unsigned() ? static_cast<int64_t>(v->get<uint64_t>()) : v->get<int64_t>();
}

inline std::optional<bool> boolean(const Json& j, const char* key, const std::string& name) {
  const Json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw ApiError(400, "'" + name + "' must be a boolean, got " + type_name(*v), name);
  return v->get<bool>();
}

inline std::optional<std::string> string(const Json& j, const char* key, const std::string& name) {
  const Json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw ApiError(400, "'" + name + "' must be a string, got " + type_name(*v), name);
  return v->get<std::string>();
}

/// `stop`: a string or an array of (at most 16) non-empty strings.
inline std::vector<std::string> stop_list(const Json& j, const char* key, const std::string& name) {
  const Json* v = field(j, key);
  if (!v) return {};
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    if (v->size() > 16) throw ApiError(400, "'" + name + "' holds " + std::to_string(v->size()) + " strings; at most 16 are allowed", name);
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) throw ApiError(400, "'" + name + "[" + std::to_string(i) + "]' must be a string", name);
      out.push_back((*v)[i].get<std::string>());
    }
  } else {
    throw ApiError(400, "'" + name + "' must be a string or an array of strings, got " + type_name(*v), name);
  }
  for (const auto& s : out)
    if (s.empty()) throw ApiError(400, "'" + name + "' must not contain empty strings", name);
  return out;
}

}  // namespace detail

/// A validated text-generation request (OpenAI chat/completions, Ollama generate/chat).
struct GenerationRequest {
  std::string model;
  bool chat = false;
  Json messages = Json::array();        ///< chat: [{role, content}, ...]
  std::string prompt;                   ///< completions / generate
  std::optional<std::vector<int32_t>> prompt_tokens;  ///< completions given token ids
  std::string system;                   ///< Ollama generate: system prompt
  bool raw = false;                     ///< Ollama generate: no template
  bool ollama_template = false;         ///< Ollama generate: apply the model's template (not raw)
  bool echo = false;                    ///< OpenAI completions: prepend the prompt
  bool stream = false;
  bool include_usage = false;           ///< stream_options.include_usage
  std::optional<std::size_t> max_tokens;  ///< unset: until end of sequence or a full context
  SamplerConfig sampler;
  std::optional<uint64_t> seed;
  std::size_t n = 1;
  bool logprobs = false;
  std::size_t top_logprobs = 0;
  std::vector<std::string> stop;
  std::string response_format = "text";
  std::optional<double> timeout;        ///< seconds (llmforge extension; the server has a default)
  bool ignore_eos = false;              ///< llama-server's extension: keep going past end-of-generation tokens
};

/// A validated embeddings request: texts or token lists.
struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> token_inputs;  ///< OpenAI token-array inputs (instead of texts)
  bool base64 = false;
  Pooling pooling = Pooling::Mean;
  bool truncate = true;                 ///< Ollama: cut inputs to the context instead of failing
};

/// The sampler settings OpenAI documents: temperature 1, top_p 1, no other truncation.
inline SamplerConfig openai_sampler_defaults() {
  SamplerConfig c;
  c.temperature = 1.0f;
  c.top_p = 1.0f;
  c.top_k = 0;
  c.min_p = 0.0f;
  c.penalty_last_n = -1;  // presence/frequency penalties look at the whole sequence, as OpenAI's do
  return c;
}
/// Ollama's defaults: temperature 0.8, top_k 40, top_p 0.9, repeat_penalty 1.1 over the last 64 tokens.
inline SamplerConfig ollama_sampler_defaults() {
  SamplerConfig c;
  c.temperature = 0.8f;
  c.top_k = 40;
  c.top_p = 0.9f;
  c.min_p = 0.0f;
  c.repeat_penalty = 1.1f;
  c.penalty_last_n = 64;
  return c;
}

namespace detail {

inline void check_sampler(SamplerConfig& c) {
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw ApiError(400, e.what());
  }
}

inline Json validate_messages(const Json& j) {
  const Json* m = field(j, "messages");
  if (!m) throw ApiError(400, "'messages' is required", "messages");
  if (!m->is_array()) throw ApiError(400, "'messages' must be an array, got " + type_name(*m), "messages");
  if (m->empty()) throw ApiError(400, "'messages' must hold at least one message", "messages");
  Json out = Json::array();
  for (std::size_t i = 0; i < m->size(); ++i) {
    const Json& msg = (*m)[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!msg.is_object()) throw ApiError(400, "'" + at + "' must be an object", at);
    const auto role = string(msg, "role", at + ".role");
    if (!role) throw ApiError(400, "'" + at + ".role' is required", at + ".role");
    if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool" && *role != "developer")
      throw ApiError(400, "'" + at + ".role' must be system, user, assistant, tool or developer, got '" + *role + "'", at + ".role");
    Json copy = msg;
    const Json* content = field(msg, "content");
    if (!content) {
      copy["content"] = "";
    } else if (content->is_array()) {  // OpenAI content parts: only text parts are supported
      std::string text;
      for (std::size_t k = 0; k < content->size(); ++k) {
        const Json& part = (*content)[k];
        const std::string pat = at + ".content[" + std::to_string(k) + "]";
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          throw ApiError(400, "'" + pat + "' must be a {\"type\": \"text\", \"text\": ...} part (other content types are not supported)", pat);
        text += part["text"].get<std::string>();
      }
      copy["content"] = text;
    } else if (!content->is_string()) {
      throw ApiError(400, "'" + at + ".content' must be a string or an array of text parts, got " + type_name(*content), at + ".content");
    }
    if (*role == "developer") copy["role"] = "system";
    out.push_back(std::move(copy));
  }
  return out;
}

inline std::string required_model(const Json& j) {
  const auto model = string(j, "model", "model");
  if (!model || model->empty()) throw ApiError(400, "'model' is required", "model");
  return *model;
}

}  // namespace detail

/// POST /v1/chat/completions (`chat`) or /v1/completions. @throws ApiError 400 naming the field.
inline GenerationRequest parse_openai_generation(const Json& j, bool chat) {
  using namespace detail;
  GenerationRequest r;
  r.chat = chat;
  r.model = required_model(j);
  if (chat) {
    r.messages = validate_messages(j);
  } else {
    const Json* p = field(j, "prompt");
    if (!p) throw ApiError(400, "'prompt' is required", "prompt");
    if (p->is_string()) {
      r.prompt = p->get<std::string>();
    } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
      r.prompt = (*p)[0].get<std::string>();
    } else if (p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {
      std::vector<int32_t> ids;
      for (std::size_t i = 0; i < p->size(); ++i) {
        const Json& v = (*p)[i];
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > std::numeric_limits<int32_t>::max())
          throw ApiError(400, "'prompt[" + std::to_string(i) + "]' must be a token id (a non-negative integer)", "prompt");
        ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
      }
      r.prompt_tokens = std::move(ids);
    } else if (p->is_array() && p->size() > 1) {
      throw ApiError(400, "'prompt' holds several prompts; send one prompt per request", "prompt");
    } else {
      throw ApiError(400, "'prompt' must be a string or an array of token ids, got " + type_name(*p), "prompt");
    }
    r.echo = boolean(j, "echo", "echo").value_or(false);
  }
  r.stream = boolean(j, "stream", "stream").value_or(false);
  if (const Json* so = field(j, "stream_options")) {
    if (!so->is_object()) throw ApiError(400, "'stream_options' must be an object", "stream_options");
    r.include_usage = boolean(*so, "include_usage", "stream_options.include_usage").value_or(false);
  }
  auto mt = integer(j, "max_completion_tokens", "max_completion_tokens", 0, 1 << 30);
  if (!mt) mt = integer(j, "max_tokens", "max_tokens", 0, 1 << 30);
  if (mt) r.max_tokens = static_cast<std::size_t>(*mt);
  r.sampler = openai_sampler_defaults();
  if (auto v = number(j, "temperature", "temperature", 0, 2)) r.sampler.temperature = static_cast<float>(*v);
  if (auto v = number(j, "top_p", "top_p", 0, 1)) {
    if (*v == 0) throw ApiError(400, "'top_p' must be in (0, 1], got 0", "top_p");
    r.sampler.top_p = static_cast<float>(*v);
  }
  if (auto v = integer(j, "top_k", "top_k", 0, 1 << 20)) r.sampler.top_k = static_cast<int>(*v);
  if (auto v = number(j, "min_p", "min_p", 0, 1)) r.sampler.min_p = static_cast<float>(*v);
  if (auto v = number(j, "presence_penalty", "presence_penalty", -2, 2)) r.sampler.presence_penalty = static_cast<float>(*v);
  if (auto v = number(j, "frequency_penalty", "frequency_penalty", -2, 2)) r.sampler.frequency_penalty = static_cast<float>(*v);
  if (auto v = number(j, "repeat_penalty", "repeat_penalty", 0.01, 10)) r.sampler.repeat_penalty = static_cast<float>(*v);
  if (auto v = integer(j, "seed", "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()))
    r.seed = static_cast<uint64_t>(*v);
  if (auto v = integer(j, "n", "n", 1, 16)) r.n = static_cast<std::size_t>(*v);
  if (const Json* lb = field(j, "logit_bias")) {
    if (!lb->is_object()) throw ApiError(400, "'logit_bias' must be an object mapping token ids to biases", "logit_bias");
    for (const auto& [k, v] : lb->items()) {
      std::size_t used = 0;
      long id = -1;
      try {
        id = std::stol(k, &used);
      } catch (const std::exception&) {
      }
      if (used != k.size() || id < 0 || id > std::numeric_limits<int32_t>::max())
        throw ApiError(400, "'logit_bias' key '" + k + "' is not a token id", "logit_bias");
      if (!v.is_number() || v.get<double>() < -100 || v.get<double>() > 100)
        throw ApiError(400, "'logit_bias[" + k + "]' must be a number in [-100, 100]", "logit_bias");
      r.sampler.logit_bias.push_back(LogitBias{static_cast<int32_t>(id), v.get<double>() <= -100 ? -INFINITY : v.get<float>()});
    }
  }
  if (chat) {
    r.logprobs = boolean(j, "logprobs", "logprobs").value_or(false);
    if (auto v = integer(j, "top_logprobs", "top_logprobs", 0, 20)) {
      if (!r.logprobs) throw ApiError(400, "'top_logprobs' needs 'logprobs': true", "top_logprobs");
      r.top_logprobs = static_cast<std::size_t>(*v);
    }
  } else if (auto v = integer(j, "logprobs", "logprobs", 0, 5)) {
    r.logprobs = true;
    r.top_logprobs = static_cast<std::size_t>(*v);
  }
  r.stop = stop_list(j, "stop", "stop");
  if (const Json* rf = field(j, "response_format")) {
    if (!rf->is_object()) throw ApiError(400, "'response_format' must be an object", "response_format");
    const auto type = string(*rf, "type", "response_format.type").value_or("text");
    if (type == "json_object" || type == "json_schema")
      throw ApiError(400, "'response_format.type' " + type + " needs grammar-constrained sampling, which this server does not have yet",
                     "response_format.type");
    if (type != "text") throw ApiError(400, "'response_format.type' must be text, json_object or json_schema", "response_format.type");
  }
  if (const Json* tools = field(j, "tools"); tools && !(tools->is_array() && tools->empty()))
    throw ApiError(400, "'tools' (function calling) is not supported by this server", "tools");
  r.timeout = number(j, "timeout", "timeout", 0.001, 86400);
  r.ignore_eos = boolean(j, "ignore_eos", "ignore_eos").value_or(false);
  detail::check_sampler(r.sampler);
  return r;
}

/// Ollama's `options` object (temperature, top_k, top_p, min_p, seed, num_predict, stop, penalties).
inline void apply_ollama_options(const Json& j, GenerationRequest& r) {
  using namespace detail;
  r.sampler = ollama_sampler_defaults();
  const Json* o = field(j, "options");
  if (!o) return;
  if (!o->is_object()) throw ApiError(400, "'options' must be an object", "options");
  if (auto v = number(*o, "temperature", "options.temperature", 0, 100)) r.sampler.temperature = static_cast<float>(*v);
  if (auto v = integer(*o, "top_k", "options.top_k", 0, 1 << 20)) r.sampler.top_k = static_cast<int>(*v);
  if (auto v = number(*o, "top_p", "options.top_p", 0, 1)) r.sampler.top_p = *v > 0 ? static_cast<float>(*v) : 1.0f;
  if (auto v = number(*o, "min_p", "options.min_p", 0, 1)) r.sampler.min_p = static_cast<float>(*v);
  if (auto v = number(*o, "typical_p", "options.typical_p", 0, 1)) r.sampler.typical_p = *v > 0 ? static_cast<float>(*v) : 1.0f;
  if (auto v = number(*o, "repeat_penalty", "options.repeat_penalty", 0.01, 10)) r.sampler.repeat_penalty = static_cast<float>(*v);
  if (auto v = integer(*o, "repeat_last_n", "options.repeat_last_n", -1, 1 << 20)) r.sampler.penalty_last_n = static_cast<int32_t>(*v);
  if (auto v = number(*o, "presence_penalty", "options.presence_penalty", -2, 2)) r.sampler.presence_penalty = static_cast<float>(*v);
  if (auto v = number(*o, "frequency_penalty", "options.frequency_penalty", -2, 2)) r.sampler.frequency_penalty = static_cast<float>(*v);
  if (auto v = integer(*o, "seed", "options.seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()))
    r.seed = static_cast<uint64_t>(*v);
  if (auto v = integer(*o, "num_predict", "options.num_predict", -2, 1 << 30); v && *v >= 0) r.max_tokens = static_cast<std::size_t>(*v);
  r.stop = stop_list(*o, "stop", "options.stop");
}

/// POST /api/generate (`chat` false) or /api/chat. Streaming is on unless `"stream": false`.
inline GenerationRequest parse_ollama_generation(const Json& j, bool chat) {
  using namespace detail;
  GenerationRequest r;
  r.chat = chat;
  r.model = required_model(j);
  if (chat) {
    r.messages = validate_messages(j);
  } else {
    r.prompt = string(j, "prompt", "prompt").value_or("");
    r.system = string(j, "system", "system").value_or("");
    r.raw = boolean(j, "raw", "raw").value_or(false);
    r.ollama_template = !r.raw;
    if (const Json* images = field(j, "images"); images && !(images->is_array() && images->empty()))
      throw ApiError(400, "'images' are not supported (the model has no vision encoder)", "images");
  }
  r.stream = boolean(j, "stream", "stream").value_or(true);
  if (const Json* f = field(j, "format")) {
    if (!(f->is_string() && f->get<std::string>().empty()))
      throw ApiError(400, "'format' (JSON output) needs grammar-constrained sampling, which this server does not have yet", "format");
  }
  if (const Json* tools = field(j, "tools"); tools && !(tools->is_array() && tools->empty()))
    throw ApiError(400, "'tools' (function calling) is not supported by this server", "tools");
  apply_ollama_options(j, r);
  detail::check_sampler(r.sampler);
  return r;
}

/// POST /v1/embeddings: `input` is a string, an array of strings, an array of token ids or an array of
/// arrays of token ids; `encoding_format` float (default) or base64.
inline EmbeddingRequest parse_openai_embeddings(const Json& j) {
  using namespace detail;
  EmbeddingRequest r;
  r.model = required_model(j);
  const Json* in = field(j, "input");
  if (!in) throw ApiError(400, "'input' is required", "input");
  auto token_list = [&](const Json& a, const std::string& at) {
    std::vector<int32_t> ids;
    for (const auto& v : a) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > std::numeric_limits<int32_t>::max())
        throw ApiError(400, "'" + at + "' must hold token ids (non-negative integers)", "input");
      ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    if (ids.empty()) throw ApiError(400, "'" + at + "' must not be empty", "input");
    return ids;
  };
  if (in->is_string()) {
    r.texts.push_back(in->get<std::string>());
  } else if (in->is_array() && !in->empty()) {
    if ((*in)[0].is_number()) {
      r.token_inputs.push_back(token_list(*in, "input"));
    } else {
      for (std::size_t i = 0; i < in->size(); ++i) {
        const Json& v = (*in)[i];
        const std::string at = "input[" + std::to_string(i) + "]";
        if (v.is_string() && r.token_inputs.empty()) r.texts.push_back(v.get<std::string>());
        else if (v.is_array() && r.texts.empty()) r.token_inputs.push_back(token_list(v, at));
        else throw ApiError(400, "'" + at + "' must be a string (or, throughout, an array of token ids)", "input");
      }
    }
    if (r.texts.size() + r.token_inputs.size() > 2048) throw ApiError(400, "'input' holds more than 2048 inputs", "input");
  } else {
    throw ApiError(400, "'input' must be a string or a non-empty array, got " + type_name(*in), "input");
  }
  for (std::size_t i = 0; i < r.texts.size(); ++i)
    if (r.texts[i].empty()) throw ApiError(400, "'input" + (in->is_string() ? std::string() : "[" + std::to_string(i) + "]") + "' must not be empty", "input");
  const auto fmt = string(j, "encoding_format", "encoding_format").value_or("float");
  if (fmt != "float" && fmt != "base64") throw ApiError(400, "'encoding_format' must be float or base64, got '" + fmt + "'", "encoding_format");
  r.base64 = fmt == "base64";
  if (auto p = string(j, "pooling", "pooling")) {
    try {
      r.pooling = parse_pooling(*p);
    } catch (const ConfigError& e) {
      throw ApiError(400, std::string("'pooling': ") + e.what(), "pooling");
    }
  }
  if (field(j, "dimensions")) throw ApiError(400, "'dimensions' is not supported (the model's embeddings have a fixed size)", "dimensions");
  return r;
}

/// POST /api/embed: `input` is a string or an array of strings; `truncate` (default true).
inline EmbeddingRequest parse_ollama_embed(const Json& j) {
  using namespace detail;
  EmbeddingRequest r;
  r.model = required_model(j);
  const Json* in = field(j, "input");
  if (!in) in = field(j, "prompt");  // the older /api/embeddings field
  if (!in) throw ApiError(400, "'input' is required", "input");
  if (in->is_string()) {
    r.texts.push_back(in->get<std::string>());
  } else if (in->is_array() && !in->empty()) {
    for (std::size_t i = 0; i < in->size(); ++i) {
      if (!(*in)[i].is_string()) throw ApiError(400, "'input[" + std::to_string(i) + "]' must be a string", "input");
      r.texts.push_back((*in)[i].get<std::string>());
    }
  } else {
    throw ApiError(400, "'input' must be a string or a non-empty array of strings, got " + type_name(*in), "input");
  }
  r.truncate = boolean(j, "truncate", "truncate").value_or(true);
  return r;
}

/// The Base64 encoding (RFC 4648, with padding) of `n` bytes.
inline std::string base64(const void* data, std::size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    const uint32_t b = (uint32_t(p[i]) << 16) | (i + 1 < n ? uint32_t(p[i + 1]) << 8 : 0) | (i + 2 < n ? uint32_t(p[i + 2]) : 0);
    out += kAlphabet[(b >> 18) & 63];
    out += kAlphabet[(b >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(b >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[b & 63] : '=';
  }
  return out;
}

/// Compares two strings in time that depends only on their lengths (for API keys).
inline bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

/// OpenAI's finish_reason for a stop reason: "stop" or "length".
inline const char* openai_finish_reason(StopReason r) {
  return r == StopReason::MaxTokens || r == StopReason::ContextFull || r == StopReason::Deadline ? "length" : "stop";
}
/// Ollama's done_reason: "stop" or "length".
inline const char* ollama_done_reason(StopReason r) { return openai_finish_reason(r); }

}  // namespace llmforge::server
