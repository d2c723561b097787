// SPDX-License-Identifier: MIT
// Entry point of the llmforge command-line tool: dispatches to the registered subcommands.
#include <boost/program_options/errors.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>

#include "cli.hpp"

namespace {
void print_usage() {
  std::fprintf(stderr, "usage: llmforge <command> [options]   (llmforge <command> --help for details)\n\ncommands:\n");
  for (const auto& [name, info] : llmforge::cli::registry())
    std::fprintf(stderr, "  %-10s %s\n", name.c_str(), info.summary.c_str());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 1 : 0;
  }
  const std::string name = argv[1];
  auto it = llmforge::cli::registry().find(name);
  if (it == llmforge::cli::registry().end()) {
    std::fprintf(stderr, "llmforge: unknown command '%s'\n", name.c_str());
    print_usage();
    return 1;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return it->second.run(args);
  } catch (const llmforge::Error& e) {
    std::fprintf(stderr, "llmforge %s: error: %s\n", name.c_str(), e.what());
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "llmforge %s: error: %s (see llmforge %s --help)\n", name.c_str(), e.what(), name.c_str());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "llmforge %s: error: out of memory\n", name.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmforge %s: error: %s\n", name.c_str(), e.what());
  }
  return 1;
}
