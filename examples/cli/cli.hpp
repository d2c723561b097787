// SPDX-License-Identifier: MIT
// Shared plumbing of the llmforge command-line tool: the subcommand registry and small helpers.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace llmforge::cli {

/// A subcommand: receives its own arguments (without the program and command names) and returns
/// the process exit code. It may throw llmforge::Error; main prints it as one line and exits 1.
using Command = std::function<int(const std::vector<std::string>& args)>;

struct CommandInfo {
  std::string summary;
  Command run;
};

/// All registered subcommands, by name.
inline std::map<std::string, CommandInfo>& registry() {
  static std::map<std::string, CommandInfo> r;
  return r;
}

/// Registers a subcommand at static-initialisation time: `static const Registration reg{"run", "...", &cmd_run};`
struct Registration {
  Registration(std::string name, std::string summary, Command run) {
    registry().emplace(std::move(name), CommandInfo{std::move(summary), std::move(run)});
  }
};

}  // namespace llmforge::cli
