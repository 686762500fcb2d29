// How `wan` and `wan-dev` end a command: its exit code, or the error it threw reported on stderr
// as "<program> <command>: error: <message>" with exit code 1 (a CommandError, or a wan::api::Error
// other than an internal one), else 3.
#pragma once

#include <functional>
#include <string>

namespace wan::cli {

int run_command(const std::string& label, const std::function<int()>& command);

}  // namespace wan::cli
