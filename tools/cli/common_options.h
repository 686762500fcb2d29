// The options several `wan` commands share, read and checked one way: --device, --precision,
// --cfg-parallel / --ulysses.
#pragma once

#include <string>

#include "args.h"
#include "wan/wan.hpp"

namespace wan::cli {

// --device cpu|cuda; default: cuda when a usable GPU is present, else cpu. "cuda" without one is refused.
std::string device_option(const Args& args);

// --precision bf16|fp8 (default bf16).
wan_precision precision_option(const Args& args);
inline const char* precision_name(wan_precision p) { return p == WAN_PRECISION_FP8 ? "fp8" : "bf16"; }

// --cfg-parallel and --ulysses N into `options`; several GPUs need --device cuda. Returns the
// number of GPUs (processes) the run takes.
int parallel_options(const Args& args, const std::string& device, api::ContextOptions& options);

}  // namespace wan::cli
