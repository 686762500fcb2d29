"""Writes tokenizer.json (the Hugging Face tokenizers format of a T5/UMT5 Unigram tokenizer) from
spiece.model, for the tokenizer.json-only tests. Reads the SentencePiece ModelProto with a minimal
protobuf reader (no dependencies): pieces (field 1: piece 1, score 2, type 3) and the normalizer's
precompiled charsmap (field 3, subfield 2).

    python3 make_tokenizer_json.py spiece.model tokenizer.json
"""
import base64, json, struct, sys


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]; i += 1
        value |= (b & 0x7F) << shift; shift += 7
        if not b & 0x80:
            return value, i


def fields(buf):
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = varint(buf, i)
        elif wire == 1:
            val = buf[i:i + 8]; i += 8
        elif wire == 2:
            n, i = varint(buf, i); val = buf[i:i + n]; i += n
        elif wire == 5:
            val = buf[i:i + 4]; i += 4
        else:
            raise ValueError(f"wire type {wire}")
        yield num, wire, val


def main(src, dst):
    proto = open(src, "rb").read()
    vocab, added, charsmap = [], [], b""
    for num, _, val in fields(proto):
        if num == 1:
            piece, score, kind = "", 0.0, 1
            for n, _, v in fields(val):
                if n == 1: piece = v.decode()
                elif n == 2: score = struct.unpack("<f", v)[0]
                elif n == 3: kind = v
            if kind in (2, 3):  # UNKNOWN, CONTROL
                added.append({"id": len(vocab), "content": piece, "special": True})
            vocab.append([piece, score])
        elif num == 3:
            for n, _, v in fields(val):
                if n == 2: charsmap = v
    unk = next(a["id"] for a in added if a["content"] == "<unk>")
    doc = {
        "version": "1.0",
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}]},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": False},
    }
    json.dump(doc, open(dst, "w", encoding="utf-8"), ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
