#include "io/torch_checkpoint.h"

#include <cstring>
#include <map>
#include <memory>

#include "core/log.h"
#include "io/zip_archive.h"

namespace wan {
namespace {

// ---------------------------------------------------------------------------------------------
// The values a state-dict pickle can build.

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t i = 0;
  double f = 0;
  std::string s;                           // Str, Bytes, Global ("module.name")
  std::vector<Ref> items;                  // Tuple, List
  std::vector<std::pair<Ref, Ref>> dict;   // Dict (insertion order)
  std::shared_ptr<Storage> storage;        // Storage
  DType dtype = DType::F32;                // Storage
  int64_t numel = 0;                       // Storage
  Tensor tensor;                           // Tensor
};

Ref make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

const char* kind_name(Value::Kind k) {
  static const char* names[] = {"None", "bool", "int", "float", "str", "bytes", "tuple", "list", "dict",
                                "global", "storage", "tensor"};
  return names[int(k)];
}

// Storage classes of torch.save's persistent ids.
const std::map<std::string, DType>& storage_types() {
  static const std::map<std::string, DType> types = {
      {"torch.FloatStorage", DType::F32}, {"torch.DoubleStorage", DType::F64},
      {"torch.HalfStorage", DType::F16},  {"torch.BFloat16Storage", DType::BF16},
      {"torch.LongStorage", DType::I64},  {"torch.IntStorage", DType::I32},
      {"torch.ByteStorage", DType::U8},   {"torch.BoolStorage", DType::Bool},
  };
  return types;
}

const char* const kRebuildTensor = "torch._utils._rebuild_tensor_v2";
const char* const kRebuildParameter = "torch._utils._rebuild_parameter";
const char* const kRebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";
const char* const kOrderedDict = "collections.OrderedDict";

bool allowed_global(const std::string& name) {
  return name == kRebuildTensor || name == kRebuildParameter || name == kRebuildParameterWithState ||
         name == kOrderedDict || storage_types().count(name);
}

class Unpickler {
 public:
  Unpickler(const ZipArchive& zip, const std::string& prefix, const uint8_t* data, size_t size)
      : zip_(zip), prefix_(prefix), p_(data), size_(size) {}

  Ref run() {
    for (;;) {
      const size_t at = pos_;
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                 // PROTO
        case 0x95: bytes(8); break;               // FRAME
        case '.': {                               // STOP
          WAN_CHECK(stack_.size() == 1, where(at), "pickle ends with ", stack_.size(), " values on the stack");
          return stack_.back();
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': push(make(Value::Kind::None)); break;
        case 0x88: case 0x89: {                   // NEWTRUE, NEWFALSE
          auto v = make(Value::Kind::Bool);
          v->i = op == 0x88;
          push(v);
          break;
        }
        case 'J': push_int(int32_t(uint32_t(le(4)))); break;  // BININT
        case 'K': push_int(int64_t(le(1))); break;            // BININT1
        case 'M': push_int(int64_t(le(2))); break;            // BININT2
        case 0x8a: {                                          // LONG1
          const size_t n = byte();
          WAN_CHECK(n <= 8, where(at), "integer of ", n, " bytes is too large");
          uint64_t v = n ? le(int(n)) : 0;
          if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign-extend
          push_int(int64_t(v));
          break;
        }
        case 'G': {                               // BINFLOAT (big-endian double)
          uint64_t bits = 0;
          for (const uint8_t b : bytes(8)) bits = (bits << 8) | b;
          auto v = make(Value::Kind::Float);
          std::memcpy(&v->f, &bits, 8);
          push(v);
          break;
        }
        case 'X': push_str(Value::Kind::Str, le(4)); break;      // BINUNICODE
        case 0x8c: push_str(Value::Kind::Str, le(1)); break;     // SHORT_BINUNICODE
        case 0x8d: push_str(Value::Kind::Str, le(8)); break;     // BINUNICODE8
        case 'B': push_str(Value::Kind::Bytes, le(4)); break;    // BINBYTES
        case 'C': push_str(Value::Kind::Bytes, le(1)); break;    // SHORT_BINBYTES
        case 0x8e: push_str(Value::Kind::Bytes, le(8)); break;   // BINBYTES8
        case '}': push(make(Value::Kind::Dict)); break;          // EMPTY_DICT
        case ']': push(make(Value::Kind::List)); break;          // EMPTY_LIST
        case ')': push(make(Value::Kind::Tuple)); break;         // EMPTY_TUPLE
        case 't': {                                              // TUPLE
          auto v = make(Value::Kind::Tuple);
          v->items = pop_mark(at);
          push(v);
          break;
        }
        case 0x85: case 0x86: case 0x87: {                       // TUPLE1..3
          auto v = make(Value::Kind::Tuple);
          v->items.resize(size_t(op - 0x84));
          for (size_t k = v->items.size(); k-- > 0;) v->items[k] = pop(at);
          push(v);
          break;
        }
        case 'c': {                                              // GLOBAL "module\nname\n"
          const std::string module = line(at), name = line(at);
          push_global(module + "." + name, at);
          break;
        }
        case 0x93: {                                             // STACK_GLOBAL
          const Ref name = pop(at), module = pop(at);
          WAN_CHECK(name->kind == Value::Kind::Str && module->kind == Value::Kind::Str, where(at),
                    "STACK_GLOBAL needs two strings");
          push_global(module->s + "." + name->s, at);
          break;
        }
        case 'R': {                                              // REDUCE
          const Ref args = pop(at), callable = pop(at);
          push(reduce(callable, args, at));
          break;
        }
        case 'b': {                                              // BUILD
          const Ref state = pop(at);
          const Ref obj = top(at);
          // A state dict's OrderedDict carries `_metadata` (module versions); tensors may carry
          // Python attributes. Neither matters for the weights.
          WAN_CHECK(obj->kind == Value::Kind::Dict || obj->kind == Value::Kind::Tensor, where(at),
                    "BUILD on a ", kind_name(obj->kind), " is not part of a state dict");
          break;
        }
        case 'Q': {                                              // BINPERSID
          push(persistent_load(pop(at), at));
          break;
        }
        case 'q': memo_[le(1)] = top(at); break;                 // BINPUT
        case 'r': memo_[le(4)] = top(at); break;                 // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(at); break;         // MEMOIZE
        case 'h': push(memo_get(le(1), at)); break;              // BINGET
        case 'j': push(memo_get(le(4), at)); break;              // LONG_BINGET
        case 's': {                                              // SETITEM
          const Ref value = pop(at), key = pop(at);
          dict_target(at)->dict.emplace_back(key, value);
          break;
        }
        case 'u': {                                              // SETITEMS
          std::vector<Ref> kv = pop_mark(at);
          WAN_CHECK(kv.size() % 2 == 0, where(at), "SETITEMS with an odd number of values");
          Ref d = dict_target(at);
          for (size_t k = 0; k < kv.size(); k += 2) d->dict.emplace_back(kv[k], kv[k + 1]);
          break;
        }
        case 'a': {                                              // APPEND
          const Ref v = pop(at);
          list_target(at)->items.push_back(v);
          break;
        }
        case 'e': {                                              // APPENDS
          std::vector<Ref> vs = pop_mark(at);
          Ref l = list_target(at);
          l->items.insert(l->items.end(), vs.begin(), vs.end());
          break;
        }
        default:
          fail(where(at), "pickle opcode 0x", hex(op), " is not part of a PyTorch state dict; refusing to load");
      }
    }
  }

 private:
  std::string where(size_t at) const { return str(zip_.path(), ": data.pkl byte ", at, ": "); }
  static std::string hex(uint8_t b) {
    const char* d = "0123456789abcdef";
    return {d[b >> 4], d[b & 15]};
  }
  uint8_t byte() {
    WAN_CHECK(pos_ < size_, zip_.path(), ": data.pkl ends before its STOP opcode (truncated?)");
    return p_[pos_++];
  }
  std::vector<uint8_t> bytes(size_t n) {
    WAN_CHECK(n <= size_ - pos_, zip_.path(), ": data.pkl ends inside a value (truncated?)");
    std::vector<uint8_t> out(p_ + pos_, p_ + pos_ + n);
    pos_ += n;
    return out;
  }
  uint64_t le(int n) {
    WAN_CHECK(size_t(n) <= size_ - pos_, zip_.path(), ": data.pkl ends inside a value (truncated?)");
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | p_[pos_ + size_t(k)];
    pos_ += size_t(n);
    return v;
  }
  std::string line(size_t at) {
    const size_t start = pos_;
    while (pos_ < size_ && p_[pos_] != '\n') ++pos_;
    WAN_CHECK(pos_ < size_, where(at), "unterminated GLOBAL name");
    return std::string(reinterpret_cast<const char*>(p_ + start), (pos_++) - start);
  }

  void push(Ref v) {
    WAN_CHECK(stack_.size() < 1000000, zip_.path(), ": data.pkl: pickle stack too deep");
    stack_.push_back(std::move(v));
  }
  void push_int(int64_t i) {
    auto v = make(Value::Kind::Int);
    v->i = i;
    push(v);
  }
  void push_str(Value::Kind kind, uint64_t n) {
    WAN_CHECK(n <= size_ - pos_, zip_.path(), ": data.pkl: string of ", n, " bytes runs past the end");
    auto v = make(kind);
    v->s.assign(reinterpret_cast<const char*>(p_ + pos_), size_t(n));
    pos_ += size_t(n);
    push(v);
  }
  void push_global(const std::string& name, size_t at) {
    WAN_CHECK(allowed_global(name), where(at), "the pickle references '", name,
              "', which a PyTorch state dict never contains; refusing to load (it could run code)");
    auto v = make(Value::Kind::Global);
    v->s = name;
    push(v);
  }
  Ref pop(size_t at) {
    WAN_CHECK(!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back()), where(at),
              "pickle pops an empty stack (malformed)");
    Ref v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Ref top(size_t at) {
    WAN_CHECK(!stack_.empty(), where(at), "pickle reads an empty stack (malformed)");
    return stack_.back();
  }
  std::vector<Ref> pop_mark(size_t at) {
    WAN_CHECK(!marks_.empty(), where(at), "pickle has no MARK to pop to (malformed)");
    const size_t m = marks_.back();
    marks_.pop_back();
    WAN_CHECK(m <= stack_.size(), where(at), "malformed MARK");
    std::vector<Ref> out(stack_.begin() + std::ptrdiff_t(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  Ref memo_get(uint64_t key, size_t at) {
    auto it = memo_.find(key);
    WAN_CHECK(it != memo_.end(), where(at), "memo key ", key, " was never stored (malformed)");
    return it->second;
  }
  Ref dict_target(size_t at) {
    Ref d = top(at);
    WAN_CHECK(d->kind == Value::Kind::Dict, where(at), "SETITEM on a ", kind_name(d->kind));
    return d;
  }
  Ref list_target(size_t at) {
    Ref l = top(at);
    WAN_CHECK(l->kind == Value::Kind::List, where(at), "APPEND on a ", kind_name(l->kind));
    return l;
  }

  static int64_t as_int(const Ref& v, const std::string& ctx) {
    WAN_CHECK(v->kind == Value::Kind::Int, ctx, "expected an int, found a ", kind_name(v->kind));
    return v->i;
  }
  static Shape as_shape(const Ref& v, const std::string& ctx) {
    WAN_CHECK(v->kind == Value::Kind::Tuple, ctx, "expected a tuple of ints, found a ", kind_name(v->kind));
    Shape s;
    for (const Ref& e : v->items) s.push_back(as_int(e, ctx));
    return s;
  }

  // ('storage', storage class, key, location, numel) -> the mapped bytes of data/<key>.
  Ref persistent_load(const Ref& pid, size_t at) {
    const std::string ctx = where(at);
    WAN_CHECK(pid->kind == Value::Kind::Tuple && pid->items.size() == 5 && pid->items[0]->kind == Value::Kind::Str &&
                  pid->items[0]->s == "storage" && pid->items[1]->kind == Value::Kind::Global &&
                  pid->items[2]->kind == Value::Kind::Str,
              ctx, "persistent id is not ('storage', type, key, location, numel)");
    const std::string& type = pid->items[1]->s;
    auto dt = storage_types().find(type);
    WAN_CHECK(dt != storage_types().end(), ctx, "'", type, "' is not a storage type");
    const std::string& key = pid->items[2]->s;
    const int64_t numel = as_int(pid->items[4], ctx);
    WAN_CHECK(numel >= 0, ctx, "negative storage size");
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;

    const ZipMember* m = zip_.find(prefix_ + "data/" + key);
    WAN_CHECK(m, ctx, "storage '", key, "' has no member ", prefix_, "data/", key, " in the archive");
    const uint64_t need = uint64_t(numel) * dtype_size(dt->second);
    WAN_CHECK(m->size >= need, zip_.path(), ": storage ", prefix_, "data/", key, " holds ", m->size,
              " bytes, but the pickle says ", numel, " ", dtype_name(dt->second), " elements (", need,
              " bytes); the file is damaged");
    const uint8_t* bytes = zip_.data(*m);
    auto v = make(Value::Kind::Storage);
    v->dtype = dt->second;
    v->numel = numel;
    if (reinterpret_cast<uintptr_t>(bytes) % dtype_size(dt->second) == 0) {
      const auto& owner = zip_.file();
      v->storage = std::make_shared<Storage>(const_cast<uint8_t*>(bytes), size_t(need), Device::CPU,
                                             std::shared_ptr<const void>(owner, owner.get()));
    } else {
      v->storage = Storage::allocate_cpu(size_t(need));
      std::memcpy(v->storage->data(), bytes, size_t(need));
    }
    storages_[key] = v;
    return v;
  }

  Ref reduce(const Ref& callable, const Ref& args, size_t at) {
    const std::string ctx = where(at);
    WAN_CHECK(callable->kind == Value::Kind::Global, ctx, "REDUCE calls a ", kind_name(callable->kind));
    WAN_CHECK(args->kind == Value::Kind::Tuple, ctx, "REDUCE arguments are not a tuple");
    const std::string& fn = callable->s;
    const auto& a = args->items;
    if (fn == kOrderedDict) {
      WAN_CHECK(a.empty(), ctx, "OrderedDict with arguments is not part of a state dict");
      return make(Value::Kind::Dict);
    }
    if (fn == kRebuildParameter || fn == kRebuildParameterWithState) {
      WAN_CHECK(!a.empty() && a[0]->kind == Value::Kind::Tensor, ctx, fn, " without a tensor");
      return a[0];
    }
    if (fn == kRebuildTensor) {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      WAN_CHECK(a.size() >= 4 && a[0]->kind == Value::Kind::Storage, ctx, fn, " with unexpected arguments");
      const Value& st = *a[0];
      const int64_t offset = as_int(a[1], ctx);
      const Shape shape = as_shape(a[2], ctx), strides = as_shape(a[3], ctx);
      WAN_CHECK(shape.size() == strides.size(), ctx, "tensor size and stride have different lengths");
      int64_t last = offset;
      bool empty = false;
      for (size_t d = 0; d < shape.size(); ++d) {
        WAN_CHECK(shape[d] >= 0 && strides[d] >= 0, ctx, "negative tensor size or stride");
        if (shape[d] == 0) empty = true;
        else last += (shape[d] - 1) * strides[d];
      }
      WAN_CHECK(offset >= 0 && (empty || last < st.numel), zip_.path(), ": a tensor of shape ", shape_str(shape),
                " at offset ", offset, " reaches element ", last, " of a storage of ", st.numel,
                " elements; the file is damaged");
      auto v = make(Value::Kind::Tensor);
      v->tensor = Tensor::from_storage_strided(st.storage, size_t(offset) * dtype_size(st.dtype), shape, strides,
                                               st.dtype);
      return v;
    }
    fail(ctx, "call of '", fn, "' is not part of a state dict");
  }

  const ZipArchive& zip_;
  std::string prefix_;
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, Ref> memo_;
  std::map<std::string, Ref> storages_;
};

}  // namespace

std::vector<std::pair<std::string, Tensor>> load_torch_checkpoint(const std::string& path) {
  auto zip = ZipArchive::open(path);
  const ZipMember* pkl = nullptr;
  for (const auto& m : zip->members()) {
    const size_t n = m.name.size();
    if (m.name == "data.pkl" || (n > 9 && m.name.compare(n - 9, 9, "/data.pkl") == 0)) {
      pkl = &m;
      break;
    }
  }
  WAN_CHECK(pkl, path, ": no data.pkl in the archive; not a PyTorch checkpoint written by torch.save");
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - 8);
  if (const ZipMember* bo = zip->find(prefix + "byteorder")) {
    const std::string order(reinterpret_cast<const char*>(zip->data(*bo)), size_t(bo->size));
    WAN_CHECK(order == "little", path, ": storages are in '", order, "' byte order; only little-endian is supported");
  }
  Unpickler unpickler(*zip, prefix, zip->data(*pkl), size_t(pkl->size));
  const Ref root = unpickler.run();
  WAN_CHECK(root->kind == Value::Kind::Dict, path, ": the pickle holds a ", kind_name(root->kind),
            ", not a state dict");
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [k, v] : root->dict) {
    WAN_CHECK(k->kind == Value::Kind::Str, path, ": a state dict key is a ", kind_name(k->kind), ", not a string");
    if (v->kind != Value::Kind::Tensor) {
      WAN_LOG_DEBUG(path, ": skipping '", k->s, "', a ", kind_name(v->kind), " rather than a tensor");
      continue;
    }
    out.emplace_back(k->s, v->tensor);
  }
  return out;
}

}  // namespace wan
