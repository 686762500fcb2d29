// The UMT5 tokenizer as the official pipeline calls it (wan/modules/tokenizers.py
// HuggingfaceTokenizer with clean='whitespace', seq_len 512):
//   clean_prompt(text) → SentencePiece pieces → ids, `</s>` (eos) appended, truncated to seq_len
//   (the eos kept last, with a warning), padded with id 0 to seq_len; mask 1 on real tokens.
// The model comes from the checkpoint's `google/umt5-xxl/spiece.model` (libsentencepiece), or, in a
// folder with only the Hugging Face `tokenizer.json` (a Unigram model), from that file, converted
// to the same SentencePiece model (vocabulary, scores, special tokens, the precompiled normaliser).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace wan {

struct TokenizedBatch {
  Tensor ids;                    // [B, seq_len] i64
  Tensor mask;                   // [B, seq_len] i64: 1 for tokens, 0 for padding
  std::vector<int64_t> lengths;  // tokens per prompt, eos included (= mask.sum per row)
  std::vector<bool> truncated;   // whether a prompt was cut to seq_len
};

class T5Tokenizer {
 public:
  // `path` is the tokenizer folder (google/umt5-xxl), a spiece.model or a tokenizer.json.
  static T5Tokenizer load(const std::string& path);
  // From a SentencePiece model's serialised bytes (a text encoder file's embedded tokenizer);
  // `origin` names where they came from in errors.
  static T5Tokenizer from_serialized_model(const std::string& bytes, const std::string& origin);
  ~T5Tokenizer();
  T5Tokenizer(T5Tokenizer&&) noexcept;
  T5Tokenizer& operator=(T5Tokenizer&&) noexcept;

  TokenizedBatch encode(const std::vector<std::string>& prompts, int64_t seq_len = 512) const;
  // The pieces' ids of an already cleaned text, without eos.
  std::vector<int64_t> encode_text(const std::string& cleaned) const;
  std::string decode(const std::vector<int64_t>& ids) const;
  int64_t vocab_size() const;
  int64_t eos_id() const;
  int64_t pad_id() const { return 0; }

 private:
  struct Impl;
  explicit T5Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wan
