#include "io/video_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include "core/error.h"
#include "io/ffmpeg_error.h"

namespace fs = std::filesystem;

namespace wan {
namespace {


void check_frames(const Tensor& frames, int64_t width, int64_t height) {
  WAN_CHECK(frames.dim() == 4 && frames.size(0) == 3, "video: frames must be [3, t, H, W], got ", frames.describe());
  WAN_CHECK(frames.size(2) == height && frames.size(3) == width, "video: frames of ", frames.size(3), "x",
            frames.size(2), " for a ", width, "x", height, " video");
}

}  // namespace

bool video_writer_available() { return true; }

std::string video_library_versions() {
  auto v = [](unsigned n) {  // AV_VERSION_INT: major << 16 | minor << 8 | micro
    return std::to_string(n >> 16) + "." + std::to_string((n >> 8) & 0xff) + "." + std::to_string(n & 0xff);
  };
  return "FFmpeg libavcodec " + v(avcodec_version()) + ", libavformat " + v(avformat_version()) + ", libswscale " +
         v(swscale_version()) + ", libavutil " + v(avutil_version());
}

struct VideoWriter::Impl {
  std::string path, tmp;
  int64_t width = 0, height = 0, frames = 0;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* stream = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  bool finished = false;

  void drain(bool flush) {
    int ret = avcodec_send_frame(enc, flush ? nullptr : frame);
    WAN_CHECK(ret >= 0, path, ": encoding failed: ", av_error(ret));
    for (;;) {
      ret = avcodec_receive_packet(enc, packet);
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      WAN_CHECK(ret >= 0, path, ": encoding failed: ", av_error(ret));
      // Every frame lasts one tick: without it the mp4's edit list ends at the last frame's start
      // and players drop that frame.
      if (packet->duration == 0) packet->duration = 1;
      av_packet_rescale_ts(packet, enc->time_base, stream->time_base);
      packet->stream_index = stream->index;
      ret = av_interleaved_write_frame(fmt, packet);
      WAN_CHECK(ret >= 0, tmp, ": write failed: ", av_error(ret));
    }
  }

  void close() {
    if (sws) sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&enc);
    if (fmt) {
      if (fmt->pb) avio_closep(&fmt->pb);
      avformat_free_context(fmt);
    }
    sws = nullptr;
    fmt = nullptr;
  }
};

VideoWriter::VideoWriter(const std::string& path, int64_t width, int64_t height, int64_t fps, int crf)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.path = path;
  d.width = width;
  d.height = height;
  WAN_CHECK(width > 0 && height > 0 && width % 2 == 0 && height % 2 == 0, path, ": ", width, "x", height,
            " cannot be written as yuv420p (both sides must be even)");
  const fs::path p(path);
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  WAN_CHECK(fs::is_directory(dir, ec), path, ": the folder ", dir.string(), " does not exist");
  d.tmp = (dir / ("." + p.filename().string() + ".partial-" + std::to_string(::getpid()))).string();

  av_log_set_level(AV_LOG_ERROR);  // x264's statistics are not for our users
  try {
    int ret = avformat_alloc_output_context2(&d.fmt, nullptr, "mp4", d.tmp.c_str());
    WAN_CHECK(ret >= 0 && d.fmt, "FFmpeg has no mp4 muxer: ", av_error(ret));
    const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
    WAN_CHECK(codec, "this FFmpeg has no libx264 encoder; install an FFmpeg built with x264");
    d.stream = avformat_new_stream(d.fmt, nullptr);
    d.enc = avcodec_alloc_context3(codec);
    WAN_CHECK(d.stream && d.enc, "FFmpeg: out of memory");
    d.enc->width = int(width);
    d.enc->height = int(height);
    d.enc->pix_fmt = AV_PIX_FMT_YUV420P;
    d.enc->time_base = AVRational{1, int(fps)};
    d.enc->framerate = AVRational{int(fps), 1};
    if (d.fmt->oformat->flags & AVFMT_GLOBALHEADER) d.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(d.enc->priv_data, "crf", std::to_string(crf).c_str(), 0);
    ret = avcodec_open2(d.enc, codec, nullptr);
    WAN_CHECK(ret >= 0, "cannot open the H.264 encoder: ", av_error(ret));
    ret = avcodec_parameters_from_context(d.stream->codecpar, d.enc);
    WAN_CHECK(ret >= 0, "FFmpeg: ", av_error(ret));
    d.stream->time_base = d.enc->time_base;
    ret = avio_open(&d.fmt->pb, d.tmp.c_str(), AVIO_FLAG_WRITE);
    WAN_CHECK(ret >= 0, d.tmp, ": cannot open for writing: ", av_error(ret));
    ret = avformat_write_header(d.fmt, nullptr);
    WAN_CHECK(ret >= 0, d.tmp, ": cannot write the mp4 header: ", av_error(ret));
    d.frame = av_frame_alloc();
    d.packet = av_packet_alloc();
    WAN_CHECK(d.frame && d.packet, "FFmpeg: out of memory");
    d.frame->format = AV_PIX_FMT_YUV420P;
    d.frame->width = int(width);
    d.frame->height = int(height);
    ret = av_frame_get_buffer(d.frame, 0);
    WAN_CHECK(ret >= 0, "FFmpeg: ", av_error(ret));
    d.sws = sws_getContext(int(width), int(height), AV_PIX_FMT_RGB24, int(width), int(height), AV_PIX_FMT_YUV420P,
                           SWS_BICUBIC, nullptr, nullptr, nullptr);
    WAN_CHECK(d.sws, "FFmpeg: cannot convert RGB to yuv420p");
  } catch (...) {
    d.close();
    std::remove(d.tmp.c_str());
    throw;
  }
}

VideoWriter::~VideoWriter() {
  if (!impl_) return;
  impl_->close();
  if (!impl_->finished) std::remove(impl_->tmp.c_str());
}

int64_t VideoWriter::frames_written() const { return impl_->frames; }

void VideoWriter::write(const Tensor& frames) {
  Impl& d = *impl_;
  WAN_CHECK(!d.finished, d.path, ": the video is already finished");
  check_frames(frames, d.width, d.height);
  for (int64_t t = 0; t < frames.size(1); ++t) {
    const std::vector<uint8_t> rgb = frame_to_rgb24(frames, t);
    const uint8_t* src[1] = {rgb.data()};
    const int stride[1] = {int(3 * d.width)};
    int ret = av_frame_make_writable(d.frame);
    WAN_CHECK(ret >= 0, "FFmpeg: ", av_error(ret));
    sws_scale(d.sws, src, stride, 0, int(d.height), d.frame->data, d.frame->linesize);
    d.frame->pts = d.frames++;
    d.drain(false);
  }
}

void VideoWriter::finish() {
  Impl& d = *impl_;
  WAN_CHECK(!d.finished, d.path, ": finish() called twice");
  WAN_CHECK(d.frames > 0, d.path, ": no frames to write");
  d.drain(true);
  const int ret = av_write_trailer(d.fmt);
  WAN_CHECK(ret >= 0, d.tmp, ": cannot finish the mp4: ", av_error(ret));
  d.close();
  std::error_code ec;
  fs::rename(d.tmp, d.path, ec);
  WAN_CHECK(!ec, d.path, ": cannot move the finished video into place: ", ec.message());
  d.finished = true;
}

void write_png_frames(const std::string& dir, const Tensor& frames, int64_t first_index) {
  WAN_CHECK(frames.dim() == 4 && frames.size(0) == 3, "png: frames must be [3, t, H, W], got ", frames.describe());
  const int64_t H = frames.size(2), W = frames.size(3);
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  WAN_CHECK(codec, "this FFmpeg has no PNG encoder");
  for (int64_t t = 0; t < frames.size(1); ++t) {
    AVCodecContext* enc = avcodec_alloc_context3(codec);
    AVFrame* frame = av_frame_alloc();
    AVPacket* packet = av_packet_alloc();
    std::string error;
    enc->width = int(W);
    enc->height = int(H);
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = AVRational{1, 1};
    int ret = avcodec_open2(enc, codec, nullptr);
    std::vector<uint8_t> rgb = frame_to_rgb24(frames, t);
    if (ret >= 0) {
      frame->format = AV_PIX_FMT_RGB24;
      frame->width = int(W);
      frame->height = int(H);
      av_image_fill_arrays(frame->data, frame->linesize, rgb.data(), AV_PIX_FMT_RGB24, int(W), int(H), 1);
      ret = avcodec_send_frame(enc, frame);
      if (ret >= 0) ret = avcodec_receive_packet(enc, packet);
    }
    if (ret < 0) error = av_error(ret);
    char name[32];
    std::snprintf(name, sizeof name, "frame_%05lld.png", (long long)(first_index + t));
    const std::string path = (fs::path(dir) / name).string();
    if (error.empty()) {
      const std::string tmp = path + ".partial";
      FILE* f = std::fopen(tmp.c_str(), "wb");
      if (!f || std::fwrite(packet->data, 1, size_t(packet->size), f) != size_t(packet->size)) error = "cannot write " + tmp;
      if (f) std::fclose(f);
      if (error.empty() && std::rename(tmp.c_str(), path.c_str()) != 0) error = "cannot rename " + tmp;
      if (!error.empty()) std::remove(tmp.c_str());
    }
    av_packet_free(&packet);
    av_frame_free(&frame);
    avcodec_free_context(&enc);
    WAN_CHECK(error.empty(), path, ": ", error);
  }
}

}  // namespace wan
