// SPDX-License-Identifier: MIT
// `llmforge serve`: the OpenAI- and Ollama-compatible HTTP server (examples/server/server.hpp).
// Compiled into the llmforge tool by examples/server/CMakeLists.txt when cpp-httplib is found.
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <string>
#include <thread>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "../cli/cli.hpp"
#include "../cli/common.hpp"
#include "server.hpp"

namespace llmforge::cli {
namespace {

int cmd_serve(const std::vector<std::string>& args) {
  po::options_description desc("options");
  server::ServerOptions opt;
  std::string model_path;
  double body_mb = 4;
  desc.add_options()
      ("model,m", po::value(&model_path), "model file (GGUF); default: the shipped models/stories260K.gguf")
      ("host", po::value(&opt.host)->default_value("127.0.0.1"), "address to listen on (0.0.0.0 exposes the server to the network)")
      ("port", po::value(&opt.port)->default_value(8080), "TCP port (0 = any free port)")
      ("api-key", po::value(&opt.api_key), "require 'Authorization: Bearer KEY' on every request except /health")
      ("alias", po::value(&opt.aliases)->composing(), "another name the model answers to (repeatable)")
      ("slots", po::value(&opt.slots)->default_value(4), "requests generated at the same time")
      ("queue", po::value(&opt.queue)->default_value(16), "requests waiting for a slot; more get 503 with Retry-After")
      ("ctx", po::value(&opt.context)->default_value(0), "context per slot in tokens (default: the model's, at most 4096)")
      ("threads,t", po::value(&opt.threads)->default_value(0), "compute threads (default: all cores)")
      ("timeout", po::value(&opt.timeout)->default_value(600), "seconds a request may take, queue time included")
      ("max-body-mb", po::value(&body_mb)->default_value(4), "largest request body in MiB (413 above)")
      ("http-threads", po::value(&opt.http_threads)->default_value(32), "connections served at the same time")
      ("no-log", "do not print a JSON log line per request");
  po::variables_map vm;
  if (!parse_options("serve", "[-m MODEL] [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--slots N] [--queue N]", desc, args, vm))
    return 0;
  if (opt.slots < 1 || opt.slots > 256) throw ConfigError("--slots must be in [1, 256], got " + std::to_string(opt.slots));
  if (opt.queue > 100000) throw ConfigError("--queue must be at most 100000");
  if (opt.port < 0 || opt.port > 65535) throw ConfigError("--port must be in [0, 65535], got " + std::to_string(opt.port));
  if (!(opt.timeout > 0)) throw ConfigError("--timeout must be positive");
  if (!(body_mb > 0) || body_mb > 1024) throw ConfigError("--max-body-mb must be in (0, 1024]");
  if (opt.http_threads < 2) throw ConfigError("--http-threads must be at least 2");
  opt.body_limit = static_cast<std::size_t>(body_mb * 1024 * 1024);
  opt.log_requests = !vm.count("no-log");
  opt.model_path = model_path.empty() ? default_model() : std::filesystem::path(model_path);

  // SIGTERM / SIGINT are handled by one thread that waits for them (sigwait), so no handler runs
  // inside the server's threads; every thread started below inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  server::Server app(opt);
  httplib::Server http;
  app.install(http);
  int port = opt.port;
  if (port == 0) {
    port = http.bind_to_any_port(opt.host);
    if (port < 0) throw IoError("cannot listen on " + opt.host);
  } else if (!http.bind_to_port(opt.host, port)) {
    throw IoError("cannot listen on " + opt.host + ":" + std::to_string(port) + " (address in use or not available)");
  }
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == 0) return;
    std::fprintf(stderr, "llmforge serve: %s received, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    app.shutdown();  // running and queued requests end (as cancelled) so their connections close
    http.stop();
  });
  const std::string host = opt.host.find(':') != std::string::npos ? "[" + opt.host + "]" : opt.host;
  std::printf("listening on http://%s:%d\n", host.c_str(), port);
  std::fflush(stdout);
  const bool ok = http.listen_after_bind();
  // listen returned: either stop() was called from the waiter, or listening failed; wake the waiter.
  if (waiter.joinable()) {
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  }
  app.shutdown();
  std::fprintf(stderr, "llmforge serve: stopped\n");
  return ok ? 0 : 1;
}

const Registration reg{"serve", "HTTP server with OpenAI- and Ollama-compatible APIs", &cmd_serve};

}  // namespace
}  // namespace llmforge::cli
