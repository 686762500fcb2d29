#include "args.h"

#include <cstdlib>

#include "cli_error.h"

namespace wan::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs, const std::string& command)
    : command_(command.rfind("wan", 0) == 0 ? command : "wan " + command) {
  auto find = [&](const std::string& name) -> const OptionSpec* {
    for (const auto& s : specs) {
      if (s.name == name) return &s;
      for (const auto& a : s.aliases)
        if (a == name) return &s;
    }
    return nullptr;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 2 || a[0] != '-' || a == "-") {
      positionals_.push_back(a);
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* spec = find(name);
    CLI_CHECK(spec, "unknown option '", a, "' for '", command_, "'; see '", command_, " --help'");
    if (spec->takes_value && !value) {
      CLI_CHECK(i + 1 < argv.size(), "option --", spec->name, " needs a value");
      value = argv[++i];
    }
    CLI_CHECK(spec->takes_value || !value, "option --", spec->name, " takes no value");
    values_[spec->name] = value.value_or("");
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  char* end = nullptr;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  CLI_CHECK(!v->empty() && *end == '\0', "option --", name, " needs an integer, got '", *v, "'");
  return n;
}

double Args::get_double(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  CLI_CHECK(!v->empty() && *end == '\0', "option --", name, " needs a number, got '", *v, "'");
  return d;
}

std::string options_help(const std::vector<OptionSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    std::string left = "  --" + s.name + (s.takes_value ? " VALUE" : "");
    if (left.size() < 26) left.resize(26, ' ');
    out += left + " " + s.help + "\n";
  }
  return out;
}

bool parse_bool_flag(const std::string& s, const std::string& flag) {
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  fail(flag, " takes true or false, got '", s, "'");
}

std::pair<int64_t, int64_t> parse_size(const std::string& s) {
  const size_t sep = s.find_first_of("*xX");
  CLI_CHECK(sep != std::string::npos, "--size '", s, "' must be W*H or WxH, e.g. 1280*720");
  try {
    size_t a = 0, b = 0;
    const int64_t w = std::stoll(s.substr(0, sep), &a), h = std::stoll(s.substr(sep + 1), &b);
    CLI_CHECK(a == sep && b == s.size() - sep - 1 && w > 0 && h > 0, "");
    return {w, h};
  } catch (...) {
    fail("--size '", s, "' must be W*H or WxH with positive integers, e.g. 1280*720");
  }
}

}  // namespace wan::cli
