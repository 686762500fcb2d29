#include "models/prompt_cleaning.h"

#include <cctype>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace wan {
namespace {

// Decodes UTF-8 into code points; throws with the byte offset of the first invalid sequence.
std::vector<uint32_t> decode_utf8(const std::string& s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = uint8_t(s[i]);
    int len = 0;
    uint32_t cp = 0;
    if (c < 0x80) { len = 1; cp = c; }
    else if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
    else fail("the prompt is not valid UTF-8: byte ", i, " (0x", std::hex, int(c), std::dec, ") cannot start a character");
    WAN_CHECK(i + size_t(len) <= s.size(), "the prompt is not valid UTF-8: it ends inside a character at byte ", i);
    for (int k = 1; k < len; ++k) {
      const uint8_t cc = uint8_t(s[i + size_t(k)]);
      WAN_CHECK((cc & 0xc0) == 0x80, "the prompt is not valid UTF-8: bad continuation byte at ", i + size_t(k));
      cp = (cp << 6) | (cc & 0x3f);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    WAN_CHECK(cp >= min_for_len[len] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff),
              "the prompt is not valid UTF-8: invalid character encoding at byte ", i);
    out.push_back(cp);
    i += size_t(len);
  }
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xc0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xe0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(char(0xf0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  }
}

std::string encode_utf8(const std::vector<uint32_t>& cps) {
  std::string out;
  for (uint32_t cp : cps) append_utf8(out, cp);
  return out;
}

// Python's str.isspace / regex \s for str patterns.
bool is_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// The subset of ftfy.fix_text described in the header.
std::vector<uint32_t> ftfy_subset(const std::vector<uint32_t>& in) {
  std::vector<uint32_t> out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    uint32_t c = in[i];
    // fix_line_breaks
    if (c == '\r') {
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
      out.push_back('\n');
      continue;
    }
    if (c == 0x2028 || c == 0x2029 || c == 0x85) {
      out.push_back('\n');
      continue;
    }
    // remove_control_chars (and C1 controls)
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0xfeff) continue;
    // uncurl_quotes
    if (c == 0x2018 || c == 0x2019 || c == 0x201a || c == 0x201b) c = '\'';
    if (c == 0x201c || c == 0x201d || c == 0x201e || c == 0x201f) c = '"';
    // fix_character_width: fullwidth ASCII and the ideographic space
    if (c >= 0xff01 && c <= 0xff5e) c = c - 0xff01 + 0x21;
    if (c == 0x3000) c = ' ';
    // fix_latin_ligatures
    static const struct { uint32_t lig; const char* text; } ligatures[] = {
        {0xfb00, "ff"}, {0xfb01, "fi"}, {0xfb02, "fl"}, {0xfb03, "ffi"}, {0xfb04, "ffl"}, {0xfb05, "st"},
        {0xfb06, "st"}, {0x0132, "IJ"}, {0x0133, "ij"}, {0x0149, "\xca\xbcn"}, {0x01c7, "LJ"}, {0x01c8, "Lj"},
        {0x01c9, "lj"}, {0x01ca, "NJ"}, {0x01cb, "Nj"}, {0x01cc, "nj"}};
    bool replaced = false;
    for (const auto& l : ligatures)
      if (c == l.lig) {
        for (uint32_t cp : decode_utf8(l.text)) out.push_back(cp);
        replaced = true;
      }
    if (!replaced) out.push_back(c);
  }
  return out;
}

struct Entity {
  std::string_view name;
  uint32_t cp;
};

// Named character references that occur in prompts (Python's html.entities.html5 has all 2231).
constexpr Entity kEntities[] = {
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"nbsp", 0xa0},    {"copy", 0xa9},     {"reg", 0xae},     {"trade", 0x2122}, {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013},  {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201c},
    {"rdquo", 0x201d}, {"laquo", 0xab},    {"raquo", 0xbb},   {"middot", 0xb7},  {"bull", 0x2022},
    {"deg", 0xb0},     {"plusmn", 0xb1},   {"times", 0xd7},   {"divide", 0xf7},  {"euro", 0x20ac},
    {"pound", 0xa3},   {"yen", 0xa5},      {"cent", 0xa2},    {"sect", 0xa7},    {"para", 0xb6},
    {"iexcl", 0xa1},   {"iquest", 0xbf},   {"eacute", 0xe9},  {"egrave", 0xe8},  {"ecirc", 0xea},
    {"aacute", 0xe1},  {"agrave", 0xe0},   {"acirc", 0xe2},   {"auml", 0xe4},    {"ouml", 0xf6},
    {"uuml", 0xfc},    {"Auml", 0xc4},     {"Ouml", 0xd6},    {"Uuml", 0xdc},    {"szlig", 0xdf},
    {"ccedil", 0xe7},  {"ntilde", 0xf1},   {"oacute", 0xf3},  {"iacute", 0xed},  {"uacute", 0xfa},
    {"hearts", 0x2665}, {"larr", 0x2190},  {"rarr", 0x2192},  {"uarr", 0x2191},  {"darr", 0x2193},
    {"frac12", 0xbd},  {"frac14", 0xbc},   {"frac34", 0xbe},  {"micro", 0xb5},   {"shy", 0xad},
};

// Python's html._replace_charref for numeric references.
uint32_t numeric_reference(uint64_t n) {
  static const uint32_t cp1252[32] = {0x20ac, 0x81,   0x201a, 0x192,  0x201e, 0x2026, 0x2020, 0x2021,
                                      0x2c6,  0x2030, 0x160,  0x2039, 0x152,  0x8d,   0x17d,  0x8f,
                                      0x90,   0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
                                      0x2dc,  0x2122, 0x161,  0x203a, 0x153,  0x9d,   0x17e,  0x178};
  if (n >= 0x80 && n <= 0x9f) return cp1252[n - 0x80];
  if (n == 0 || (n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return 0xfffd;
  return uint32_t(n);
}

}  // namespace

void check_utf8(const std::string& bytes) { decode_utf8(bytes); }

std::string html_unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    // Numeric: &#123; or &#x7b; (the ';' is optional, as in Python).
    if (i + 2 < s.size() && s[i + 1] == '#') {
      const bool hex = s[i + 2] == 'x' || s[i + 2] == 'X';
      size_t j = i + (hex ? 3 : 2);
      uint64_t n = 0;
      const size_t start = j;
      while (j < s.size() && (hex ? std::isxdigit(uint8_t(s[j])) : std::isdigit(uint8_t(s[j])))) {
        if (n <= 0x10ffff) n = n * (hex ? 16 : 10) + uint64_t(hex && std::isalpha(uint8_t(s[j])) ? (std::tolower(s[j]) - 'a' + 10) : (s[j] - '0'));
        ++j;
      }
      if (j > start) {
        append_utf8(out, numeric_reference(n));
        i = j + (j < s.size() && s[j] == ';' ? 1 : 0);
        continue;
      }
    }
    // Named: &name; (only names followed by ';' are replaced here).
    size_t j = i + 1;
    while (j < s.size() && std::isalnum(uint8_t(s[j]))) ++j;
    bool done = false;
    if (j < s.size() && s[j] == ';') {
      const std::string_view name(s.data() + i + 1, j - i - 1);
      for (const auto& e : kEntities)
        if (e.name == name) {
          append_utf8(out, e.cp);
          i = j + 1;
          done = true;
          break;
        }
    }
    if (!done) out.push_back(s[i++]);
  }
  return out;
}

std::string collapse_whitespace(const std::string& s) {
  std::vector<uint32_t> out;
  bool pending_space = false;
  for (uint32_t c : decode_utf8(s)) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return encode_utf8(out);
}

std::string clean_prompt(const std::string& text) {
  const std::string fixed = encode_utf8(ftfy_subset(decode_utf8(text)));
  return collapse_whitespace(html_unescape(html_unescape(fixed)));
}

}  // namespace wan
