// Prompt cleaning before tokenisation (wan/modules/tokenizers.py, clean='whitespace'):
//   ftfy.fix_text(text) → html.unescape(html.unescape(·)) → strip → \s+ → ' ' → strip.
//
// Of ftfy.fix_text this implements the fixes that change ordinary prompts: line breaks (\r\n, \r,
// U+2028/2029/0085 → \n), removal of control characters (C0 except \t \n, DEL, C1), curly quotes
// to straight ones, Latin ligatures (ﬁ → fi, ...), fullwidth ASCII to ASCII (U+FF01–FF5E, U+3000
// → space). Mojibake repair (ftfy's fix_encoding) is not attempted. html.unescape handles numeric
// references (decimal and hex, with Python's replacements for invalid code points) and the common
// named entities. Whitespace is Python's str \s. Throws wan::Error on invalid UTF-8, naming the byte.
#pragma once

#include <string>

namespace wan {

std::string clean_prompt(const std::string& utf8);

// Pieces of clean_prompt, exposed for tests.
std::string html_unescape(const std::string& utf8);
std::string collapse_whitespace(const std::string& utf8);  // strip, then runs of \s to one space
void check_utf8(const std::string& bytes);                 // throws on invalid UTF-8

}  // namespace wan
