// The UMT5 tokenizer path against a tiny SentencePiece model (tests/data/tokenizer, T5's special
// ids). Expected ids come from the reference tool, spm_encode.
#include <gtest/gtest.h>

#include "core/log.h"
#include "models/prompt_cleaning.h"
#include "models/t5_tokenizer.h"
#include "test_util.h"

namespace wan {
namespace {

std::string model_dir() { return std::string(WAN_SOURCE_DIR) + "/tests/data/tokenizer"; }

std::vector<int64_t> row(const TokenizedBatch& t, int64_t b, int64_t n) {
  const int64_t* p = t.ids.data<int64_t>() + b * t.ids.size(1);
  return std::vector<int64_t>(p, p + n);
}

// The negative prompt of the official configs (shared_config.py), full-width commas included.
const char* kNegativePrompt =
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，"
    "丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，"
    "杂乱的背景，三条腿，背景人很多，倒着走";

TEST(PromptCleaning, WhitespaceRunsAndStrip) {
  EXPECT_EQ(clean_prompt("  a\t\tcat \n\n walks\r\n  "), "a cat walks");
  EXPECT_EQ(clean_prompt("a\xc2\xa0\xe3\x80\x80" "b"), "a b");  // no-break space, ideographic space
  EXPECT_EQ(clean_prompt(""), "");
  EXPECT_EQ(clean_prompt(" \t\n "), "");
}

TEST(PromptCleaning, HtmlEntitiesTwice) {
  EXPECT_EQ(clean_prompt("cats &amp; dogs"), "cats & dogs");
  EXPECT_EQ(clean_prompt("a &amp;lt;b&amp;gt; c"), "a <b> c");  // unescaped twice, as the official code
  EXPECT_EQ(clean_prompt("&#72;&#x69;&#X21;"), "Hi!");
  EXPECT_EQ(clean_prompt("caf&eacute; &hellip;"), "caf\xc3\xa9 \xe2\x80\xa6");
  EXPECT_EQ(html_unescape("&#150;&#0;"), "\xe2\x80\x93\xef\xbf\xbd");  // cp1252 range, NUL → U+FFFD
  EXPECT_EQ(clean_prompt("AT&T &unknown; & more"), "AT&T &unknown; & more");
}

TEST(PromptCleaning, FtfyFixes) {
  EXPECT_EQ(clean_prompt("\xe2\x80\x9chello\xe2\x80\x9d it\xe2\x80\x99s"), "\"hello\" it's");  // curly quotes
  EXPECT_EQ(clean_prompt("\xef\xac\x81sh"), "fish");                                          // ﬁ ligature
  EXPECT_EQ(clean_prompt("\xef\xbc\xa1\xef\xbc\x8c"), "A,");                                  // fullwidth A and comma
  EXPECT_EQ(clean_prompt("a\x01" "b\x7f" "c"), "abc");                                        // control characters
}

TEST(PromptCleaning, InvalidUtf8IsAClearError) {
  for (const std::string bad : {std::string("abc\xff"), std::string("\xe4\xb8"), std::string("\xc0\xaf"),
                                std::string("\xed\xa0\x80")}) {
    try {
      clean_prompt(bad);
      FAIL() << "accepted invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
    }
  }
}

TEST(T5Tokenizer, MatchesSpmEncode) {
  const T5Tokenizer tok = T5Tokenizer::load(model_dir());
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_EQ(tok.encode_text("A cat walks on the grass."), (std::vector<int64_t>{33, 14, 72, 8, 9, 74, 35, 134, 7}));
  EXPECT_EQ(tok.encode_text("Fireworks \xf0\x9f\x8e\x86 ok"), (std::vector<int64_t>{43, 4, 174, 4, 153, 70}));
  // The full-width comma is normalised to ',' (id 3) by the model's NFKC rules.
  EXPECT_EQ(tok.encode_text("色调艳丽，过曝"), (std::vector<int64_t>{4, 86, 88, 87, 83, 3, 98, 91}));
  // Characters outside the vocabulary become unk (2).
  EXPECT_EQ(tok.encode_text("don't say \"hi\""), (std::vector<int64_t>{139, 36, 2, 219, 4, 216, 12, 208, 4, 2, 215, 218, 2}));
}

TEST(T5Tokenizer, EosPaddingAndMask) {
  const T5Tokenizer tok = T5Tokenizer::load(model_dir() + "/spiece.model");
  const TokenizedBatch t = tok.encode({"  A cat   walks on the grass.  ", "", "&#65;&#32;cat&nbsp;&nbsp; walks"}, 16);
  EXPECT_EQ(t.ids.shape(), (Shape{3, 16}));
  EXPECT_EQ(row(t, 0, 11), (std::vector<int64_t>{33, 14, 72, 8, 9, 74, 35, 134, 7, 1, 0}));
  EXPECT_EQ(t.lengths, (std::vector<int64_t>{10, 1, 4}));
  EXPECT_EQ(row(t, 1, 2), (std::vector<int64_t>{1, 0}));  // empty prompt: eos alone
  const int64_t* mask = t.mask.data<int64_t>();
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t k = 0; k < 16; ++k) EXPECT_EQ(mask[b * 16 + k], k < t.lengths[size_t(b)] ? 1 : 0);
  // Cleaning happened before tokenisation: entities unescaped, the no-break spaces collapsed.
  EXPECT_EQ(row(t, 2, 5), (std::vector<int64_t>{33, 14, 72, 1, 0}));
}

TEST(T5Tokenizer, ChineseNegativePromptRoundTrips) {
  const T5Tokenizer tok = T5Tokenizer::load(model_dir());
  const TokenizedBatch t = tok.encode({kNegativePrompt});
  const int64_t n = t.lengths[0];
  EXPECT_GT(n, 60);
  EXPECT_EQ(row(t, 0, n).back(), 1);
  std::vector<int64_t> body = row(t, 0, n - 1);
  for (int64_t id : body) EXPECT_NE(id, 2) << "the corpus covers every character";
  // NFKC turns the full-width commas into ','; everything else comes back.
  std::string expected = kNegativePrompt;
  for (size_t p; (p = expected.find("，")) != std::string::npos;) expected.replace(p, 3, ",");
  EXPECT_EQ(tok.decode(body), expected);
}

TEST(T5Tokenizer, LongPromptsAreTruncatedWithAWarning) {
  const T5Tokenizer tok = T5Tokenizer::load(model_dir());
  std::string prompt;
  for (int i = 0; i < 200; ++i) prompt += "A cat walks on the grass. ";
  std::vector<std::string> warnings;
  set_log_sink([&](LogLevel level, const std::string& msg) {
    if (level == LogLevel::Warn) warnings.push_back(msg);
  });
  const TokenizedBatch t = tok.encode({prompt});
  set_log_sink(nullptr);
  EXPECT_EQ(t.lengths[0], 512);
  EXPECT_TRUE(t.truncated[0]);
  EXPECT_EQ(t.ids.data<int64_t>()[511], 1);  // eos kept last
  EXPECT_EQ(t.ids.data<int64_t>()[0], 33);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("1801 tokens"), std::string::npos) << warnings[0];
}

// A folder with only the Hugging Face tokenizer.json (tests/data/tokenizer/json_only, written from
// spiece.model by make_tokenizer_json.py) tokenizes exactly as spiece.model does.
TEST(T5Tokenizer, TokenizerJsonOnlyFolderMatchesSpieceModel) {
  const T5Tokenizer sp = T5Tokenizer::load(model_dir());
  const T5Tokenizer js = T5Tokenizer::load(model_dir() + "/json_only");
  EXPECT_EQ(js.eos_id(), 1);
  EXPECT_EQ(js.vocab_size(), sp.vocab_size());
  EXPECT_EQ(js.encode_text("A cat walks on the grass."), (std::vector<int64_t>{33, 14, 72, 8, 9, 74, 35, 134, 7}));
  for (const std::string text : {std::string("Fireworks \xf0\x9f\x8e\x86 ok"), std::string("色调艳丽，过曝"),
                                 std::string("don't say \"hi\""), std::string(kNegativePrompt), std::string("")})
    EXPECT_EQ(js.encode_text(text), sp.encode_text(text)) << text;
  const TokenizedBatch a = sp.encode({"  A cat   walks  "}), b = js.encode({"  A cat   walks  "});
  EXPECT_EQ(a.ids.to_vector<int64_t>(), b.ids.to_vector<int64_t>());
}

TEST(T5Tokenizer, MissingOrWrongFiles) {
  test::TempDir dir;
  EXPECT_THROW(T5Tokenizer::load(dir.file("absent")), Error);
  EXPECT_THROW(T5Tokenizer::load(dir.path()), Error);
  test::write_bytes(dir.file("tokenizer.json"), "{}");
  try {
    T5Tokenizer::load(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json: no \"model\""), std::string::npos) << e.what();
  }
  test::write_bytes(dir.file("tokenizer.json"), R"({"model": {"type": "BPE", "vocab": {}}})");
  EXPECT_THROW(T5Tokenizer::load(dir.path()), Error);  // not a Unigram model
  test::write_bytes(dir.file("spiece.model"), "not a model");
  EXPECT_THROW(T5Tokenizer::load(dir.path()), Error);
  EXPECT_THROW(T5Tokenizer::load(model_dir()).encode({"ok", "bad \xff"}), Error);
}

}  // namespace
}  // namespace wan
