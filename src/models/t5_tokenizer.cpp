#include "models/t5_tokenizer.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "models/prompt_cleaning.h"

#ifdef WAN_HAVE_SENTENCEPIECE
#include <sentencepiece_processor.h>
#endif

namespace fs = std::filesystem;

namespace wan {
namespace {

// --- A Hugging Face tokenizer.json (Unigram, as T5/UMT5 ship it) as a SentencePiece ModelProto ---
// The proto is written by hand (sentencepiece_model.proto field numbers): pieces (1: piece 1,
// score 2, type 3), trainer_spec (2: model_type 3 = UNIGRAM, vocab_size 4, unk/bos/eos/pad ids
// 40-43), normalizer_spec (3: name 1, precompiled_charsmap 2, add_dummy_prefix 3,
// remove_extra_whitespaces 4, escape_whitespaces 5).

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}
void put_key(std::string& out, int field, int wire) { put_varint(out, uint64_t(field) << 3 | uint64_t(wire)); }
void put_int(std::string& out, int field, int64_t v) {
  put_key(out, field, 0);
  put_varint(out, uint64_t(v));  // negative int32s are ten-byte varints, as protobuf writes them
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_float(std::string& out, int field, float v) {
  put_key(out, field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

std::string base64_decode(const std::string& in, const std::string& origin) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    const int v = value(c);
    WAN_CHECK(v >= 0, origin, ": precompiled_charsmap is not base64");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string model_proto_from_tokenizer_json(const std::string& path) {
  std::ifstream in(path);
  WAN_CHECK(in, path, ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  WAN_CHECK(j.is_object() && j.contains("model") && j["model"].is_object(), path, ": no \"model\" object");
  const auto& model = j["model"];
  WAN_CHECK(model.value("type", "") == "Unigram", path, ": model type '", model.value("type", "?"),
            "' is not supported; UMT5's tokenizer.json is a Unigram model");
  WAN_CHECK(model.contains("vocab") && model["vocab"].is_array() && !model["vocab"].empty(), path, ": no vocab");
  const int64_t unk = model.value("unk_id", int64_t(-1));
  std::map<int64_t, std::string> special;  // id -> content
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& t : j["added_tokens"])
      if (t.value("special", false)) special[t.value("id", int64_t(-1))] = t.value("content", "");
  auto special_id = [&](const std::string& content) -> int64_t {
    for (const auto& [id, c] : special)
      if (c == content) return id;
    return -1;
  };
  // The normaliser: a Precompiled charsmap, alone or inside a Sequence.
  std::string charsmap;
  std::function<void(const nlohmann::json&)> find_charsmap = [&](const nlohmann::json& n) {
    if (!n.is_object()) return;
    if (n.value("type", "") == "Precompiled" && n.contains("precompiled_charsmap") && n["precompiled_charsmap"].is_string())
      charsmap = base64_decode(n["precompiled_charsmap"].get<std::string>(), path);
    if (n.contains("normalizers") && n["normalizers"].is_array())
      for (const auto& m : n["normalizers"]) find_charsmap(m);
  };
  if (j.contains("normalizer")) find_charsmap(j["normalizer"]);

  std::string proto;
  const auto& vocab = model["vocab"];
  for (size_t i = 0; i < vocab.size(); ++i) {
    const auto& e = vocab[i];
    WAN_CHECK(e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_number(), path, ": vocab entry ", i,
              " is not [piece, score]");
    std::string piece;
    put_bytes(piece, 1, e[0].get<std::string>());
    put_float(piece, 2, e[1].get<float>());
    const int64_t id = int64_t(i);
    put_int(piece, 3, id == unk ? 2 : (special.count(id) ? 3 : 1));  // UNKNOWN, CONTROL, NORMAL
    put_bytes(proto, 1, piece);
  }
  std::string trainer;
  put_int(trainer, 3, 1);  // UNIGRAM
  put_int(trainer, 4, int64_t(vocab.size()));
  put_int(trainer, 40, unk);
  put_int(trainer, 41, special_id("<s>"));
  put_int(trainer, 42, special_id("</s>"));
  put_int(trainer, 43, special_id("<pad>"));
  put_bytes(proto, 2, trainer);
  std::string normalizer;
  put_bytes(normalizer, 1, charsmap.empty() ? "identity" : "nmt_nfkc");
  if (!charsmap.empty()) put_bytes(normalizer, 2, charsmap);
  put_int(normalizer, 3, 1);  // add_dummy_prefix: the Metaspace pre-tokenizer prepends '▁'
  put_int(normalizer, 4, 1);
  put_int(normalizer, 5, 1);
  put_bytes(proto, 3, normalizer);
  return proto;
}

}  // namespace

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
  std::string json;  // a tokenizer.json to read when there is no spiece.model
  if (fs::is_directory(path, ec)) {
    model = (fs::path(path) / "spiece.model").string();
    if (!fs::exists(model, ec)) {
      json = (fs::path(path) / "tokenizer.json").string();
      WAN_CHECK(fs::exists(json, ec), path, ": no spiece.model or tokenizer.json in the tokenizer folder");
    }
  } else if (model.size() > 5 && model.substr(model.size() - 5) == ".json") {
    json = model;
  }
#ifdef WAN_HAVE_SENTENCEPIECE
  auto impl = std::make_unique<Impl>();
  if (!json.empty()) {
    const auto status = impl->sp.LoadFromSerializedProto(model_proto_from_tokenizer_json(json));
    WAN_CHECK(status.ok(), json, ": cannot build a SentencePiece model from it: ", status.ToString());
  } else {
    const auto status = impl->sp.Load(model);
    WAN_CHECK(status.ok(), model, ": not a SentencePiece model: ", status.ToString());
  }
  return T5Tokenizer(std::move(impl));
#else
  fail(model, ": this build has no SentencePiece (install libsentencepiece-dev and rebuild)");
#endif
}

T5Tokenizer T5Tokenizer::from_serialized_model(const std::string& bytes, const std::string& origin) {
#ifdef WAN_HAVE_SENTENCEPIECE
  auto impl = std::make_unique<Impl>();
  const auto status = impl->sp.LoadFromSerializedProto(bytes);
  WAN_CHECK(status.ok(), origin, ": not a SentencePiece model: ", status.ToString());
  return T5Tokenizer(std::move(impl));
#else
  (void)bytes;
  fail(origin, ": this build has no SentencePiece (install libsentencepiece-dev and rebuild)");
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
