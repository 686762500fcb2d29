#include "models/t5_tokenizer.h"

#include <filesystem>

#include "core/log.h"
#include "models/prompt_cleaning.h"

#ifdef WAN_HAVE_SENTENCEPIECE
#include <sentencepiece_processor.h>
#endif

namespace fs = std::filesystem;

namespace wan {

#ifdef WAN_HAVE_SENTENCEPIECE
struct T5Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
};
#else
struct T5Tokenizer::Impl {};
#endif

T5Tokenizer::T5Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
T5Tokenizer::~T5Tokenizer() = default;
T5Tokenizer::T5Tokenizer(T5Tokenizer&&) noexcept = default;
T5Tokenizer& T5Tokenizer::operator=(T5Tokenizer&&) noexcept = default;

T5Tokenizer T5Tokenizer::load(const std::string& path) {
  std::error_code ec;
  WAN_CHECK(fs::exists(path, ec), path, ": no such tokenizer folder or file (the official checkpoint has google/umt5-xxl/)");
  std::string model = path;
  if (fs::is_directory(path, ec)) {
    model = (fs::path(path) / "spiece.model").string();
    if (!fs::exists(model, ec)) {
      WAN_CHECK(!fs::exists(fs::path(path) / "tokenizer.json", ec), path,
                ": has tokenizer.json but no spiece.model; reading tokenizer.json is not supported yet, "
                "copy spiece.model from the google/umt5-xxl tokenizer into this folder");
      fail(path, ": no spiece.model in the tokenizer folder");
    }
  }
#ifdef WAN_HAVE_SENTENCEPIECE
  auto impl = std::make_unique<Impl>();
  const auto status = impl->sp.Load(model);
  WAN_CHECK(status.ok(), model, ": not a SentencePiece model: ", status.ToString());
  return T5Tokenizer(std::move(impl));
#else
  fail(model, ": this build has no SentencePiece (install libsentencepiece-dev and rebuild)");
#endif
}

std::vector<int64_t> T5Tokenizer::encode_text(const std::string& cleaned) const {
#ifdef WAN_HAVE_SENTENCEPIECE
  std::vector<int> ids;
  const auto status = impl_->sp.Encode(cleaned, &ids);
  WAN_CHECK(status.ok(), "tokenizer: ", status.ToString());
  return std::vector<int64_t>(ids.begin(), ids.end());
#else
  fail("this build has no SentencePiece");
#endif
}

std::string T5Tokenizer::decode(const std::vector<int64_t>& ids) const {
#ifdef WAN_HAVE_SENTENCEPIECE
  std::string text;
  const auto status = impl_->sp.Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  WAN_CHECK(status.ok(), "tokenizer: ", status.ToString());
  return text;
#else
  fail("this build has no SentencePiece");
#endif
}

int64_t T5Tokenizer::vocab_size() const {
#ifdef WAN_HAVE_SENTENCEPIECE
  return impl_->sp.GetPieceSize();
#else
  return 0;
#endif
}

int64_t T5Tokenizer::eos_id() const {
#ifdef WAN_HAVE_SENTENCEPIECE
  return impl_->sp.eos_id();
#else
  return 1;
#endif
}

TokenizedBatch T5Tokenizer::encode(const std::vector<std::string>& prompts, int64_t seq_len) const {
  WAN_CHECK(seq_len >= 1, "tokenizer: seq_len must be positive");
  const int64_t B = int64_t(prompts.size());
  TokenizedBatch out;
  out.ids = Tensor::zeros({B, seq_len}, DType::I64);
  out.mask = Tensor::zeros({B, seq_len}, DType::I64);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> ids = encode_text(clean_prompt(prompts[size_t(b)]));
    const bool truncated = int64_t(ids.size()) + 1 > seq_len;
    if (truncated) {
      WAN_LOG_WARN("prompt ", b, " has ", ids.size() + 1, " tokens; the text encoder reads ", seq_len,
                   ", so the end of the prompt is dropped");
      ids.resize(size_t(seq_len - 1));
    }
    ids.push_back(eos_id());
    int64_t* row = out.ids.data<int64_t>() + b * seq_len;
    int64_t* mrow = out.mask.data<int64_t>() + b * seq_len;
    for (size_t k = 0; k < ids.size(); ++k) {
      row[k] = ids[k];
      mrow[k] = 1;
    }
    out.lengths.push_back(int64_t(ids.size()));
    out.truncated.push_back(truncated);
  }
  return out;
}

}  // namespace wan
