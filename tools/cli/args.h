// A small command-line parser: `--name value`, `--name=value`, `--flag`, and positionals.
// Unknown options are errors that name the option and the command's help.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wan::cli {

struct OptionSpec {
  std::string name;  // without dashes
  bool takes_value;
  std::string help;
  std::vector<std::string> aliases;  // other spellings (e.g. the official generate.py names)
};

class Args {
 public:
  // Throws CommandError (cli_error.h) with a clear message for unknown options or missing values.
  // `command` names it in messages: "info" (a `wan` command) or a whole name ("wan-dev dit").
  Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs, const std::string& command);

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::string command_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
};

std::string options_help(const std::vector<OptionSpec>& specs);

// "W*H" or "WxH" with positive integers (--size); throws naming the value otherwise.
std::pair<int64_t, int64_t> parse_size(const std::string& s);
// "true"/"True" or "false"/"False" (the official flags' spelling); anything else is an error naming `flag`.
bool parse_bool_flag(const std::string& s, const std::string& flag);

}  // namespace wan::cli
