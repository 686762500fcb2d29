// The C API's tools (include/wan/wan.h, "Tools"): describing the machine, comparing two videos,
// converting a checkpoint. `wan info --system`, `wan compare` and `wan convert` are built on these.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "api/api_guard.h"
#include "backend/backend.h"
#include "core/image_metrics.h"
#include "core/precision.h"
#include "core/thread_pool.h"
#include "dist/communicator.h"
#include "io/video_reader.h"
#include "io/video_writer.h"
#include "pipeline/convert_checkpoint.h"
#include "wan/wan.h"

using wan::api::guarded;

int wan_cpu_thread_count(void) { return wan::num_threads(); }

wan_status wan_get_device_info(int32_t index, wan_device_info* out) {
  return guarded(WAN_ERROR_UNSUPPORTED, [&] {
    if (!out) throw wan::Error("wan_get_device_info: out must not be NULL");
    WAN_CHECK(wan::cuda_available(), "no GPU: ", wan::cuda_device_summary());
    const wan::CudaDeviceProperties p = wan::cuda_device_properties(index);
    *out = {};
    std::snprintf(out->name, sizeof out->name, "%s", p.name.c_str());
    out->compute_capability = p.compute_capability;
    out->multiprocessors = p.multiprocessors;
    out->total_memory = p.total_memory;
    out->free_memory = p.free_memory;
    out->fp8 = wan::fp8_products_supported(p.compute_capability) ? 1 : 0;
    return WAN_OK;
  });
}

const char* wan_cuda_library_versions(void) {
  static thread_local std::string text;
  return wan::api::described(text, [] {
    return wan::cuda_available() ? wan::cuda_library_versions() : "none: " + wan::cuda_device_summary();
  });
}

const char* wan_cuda_build_targets(void) {
  static const std::string targets = wan::cuda_build_targets();
  return targets.c_str();
}

const char* wan_tuning_cache_description(void) {
  static thread_local std::string text;
  return wan::api::described(text, [] { return wan::tuning_cache_description(); });
}

const char* wan_video_library_versions(void) {
  static thread_local std::string text;
  text = wan::video_library_versions();
  return text.c_str();
}

const char* wan_nccl_description(void) {
  static thread_local std::string text;
  return wan::api::described(text, [] { return wan::dist::nccl_description(); });
}

wan_status wan_compare_videos(const char* a, const char* b, wan_video_comparison* out,
                              wan_frame_difference* per_frame, int64_t capacity) {
  if (!wan::video_reader_available()) {
    wan::api::last_error() = "this build has no FFmpeg, so it cannot read videos; install libavformat-dev, "
                             "libavcodec-dev, libswscale-dev and libavutil-dev and rebuild";
    return WAN_ERROR_UNSUPPORTED;
  }
  // Bad arguments (sizes, counts) are found first; an unreadable file is an I/O error.
  std::vector<wan::RgbFrame> frames_a;
  std::vector<wan::FrameDifference> diffs;
  const wan_status checked = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(a && b && out, "wan_compare_videos: a, b and out must not be NULL");
    WAN_CHECK(capacity >= 0 && (per_frame || capacity == 0), "wan_compare_videos: per_frame must hold capacity (",
              capacity, ") entries");
    return WAN_OK;
  });
  if (checked != WAN_OK) return checked;
  int64_t count_b = 0;
  bool sizes_differ = false;  // the caller's videos do not match: an argument error, not an I/O one
  const wan_status read = guarded(WAN_ERROR_IO, [&] {
    wan::read_video_frames(a, [&](const wan::RgbFrame& f) { frames_a.push_back(f); });
    wan::read_video_frames(b, [&](const wan::RgbFrame& f) {
      const int64_t i = count_b++;
      if (i >= int64_t(frames_a.size())) return;
      const wan::RgbFrame& fa = frames_a[size_t(i)];
      if (f.width != fa.width || f.height != fa.height) {
        sizes_differ = true;
        throw wan::Error(wan::str("frame ", i, ": ", a, " is ", fa.width, "x", fa.height, " but ", b, " is ", f.width,
                                  "x", f.height));
      }
      diffs.push_back(wan::compare_rgb_frames(fa.rgb.data(), f.rgb.data(), f.width, f.height));
    });
    return WAN_OK;
  });
  if (read != WAN_OK) return sizes_differ ? WAN_ERROR_INVALID_ARGUMENT : read;
  return guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(!frames_a.empty(), a, ": no frames");
    WAN_CHECK(count_b == int64_t(frames_a.size()), a, " has ", frames_a.size(), " frames but ", b, " has ", count_b);
    wan_video_comparison c{};
    c.frames = int64_t(diffs.size());
    c.width = frames_a[0].width;
    c.height = frames_a[0].height;
    double psnr_sum = 0, ssim_sum = 0;
    for (size_t i = 0; i < diffs.size(); ++i) {
      const wan::FrameDifference& d = diffs[i];
      if (!std::isinf(d.psnr)) {
        psnr_sum += d.psnr;
        ++c.differing_frames;
      }
      ssim_sum += d.ssim;
      c.max_abs = std::max<int32_t>(c.max_abs, d.max_abs);
      if (d.psnr < diffs[size_t(c.worst_frame)].psnr) c.worst_frame = int64_t(i);
      if (int64_t(i) < capacity) per_frame[i] = {d.psnr, d.ssim, d.max_abs};
    }
    c.mean_psnr = c.differing_frames ? psnr_sum / double(c.differing_frames) : std::numeric_limits<double>::infinity();
    c.mean_ssim = ssim_sum / double(diffs.size());
    const wan::FrameDifference& w = diffs[size_t(c.worst_frame)];
    c.worst = {w.psnr, w.ssim, w.max_abs};
    *out = c;
    return WAN_OK;
  });
}

wan_status wan_convert_checkpoint(const char* src, const char* dst, const char* dtype, int64_t shard_bytes,
                                  wan_convert_report* report) {
  wan::DType type = wan::DType::BF16;
  const wan_status checked = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(src && *src && dst && *dst, "wan_convert_checkpoint: src and dst must be folder paths");
    WAN_CHECK(shard_bytes >= 0, "wan_convert_checkpoint: shard_bytes must not be negative");
    const std::string name = dtype ? dtype : "bf16";
    if (name == "bf16") type = wan::DType::BF16;
    else if (name == "f16") type = wan::DType::F16;
    else if (name == "f32") type = wan::DType::F32;
    else if (name == "fp8") type = wan::DType::F8_E4M3;
    else throw wan::Error("wan_convert_checkpoint: dtype must be bf16, f16, f32 or fp8, got '" + name + "'");
    return WAN_OK;
  });
  if (checked != WAN_OK) return checked;
  return guarded(WAN_ERROR_IO, [&] {
    const wan::ConvertReport r =
        wan::convert_checkpoint(src, dst, type, shard_bytes > 0 ? shard_bytes : int64_t(5'000'000'000));
    if (report) *report = {r.dit_folders, r.tensors, r.shards, r.bytes_read, r.bytes_written, r.other_files};
    return WAN_OK;
  });
}
