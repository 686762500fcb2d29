#include "io/video_reader.h"

#include <algorithm>
#include <filesystem>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include "core/error.h"
#include "io/ffmpeg_error.h"

namespace fs = std::filesystem;

namespace wan {

bool video_reader_available() { return true; }
namespace {


// Every frame of one file (a video, or a single image), converted to RGB24.
int64_t decode_file(const std::string& path, const std::function<void(const RgbFrame&)>& sink) {
  AVFormatContext* fmt = nullptr;
  int ret = avformat_open_input(&fmt, path.c_str(), nullptr, nullptr);
  WAN_CHECK(ret >= 0, path, ": cannot open: ", av_error(ret));
  AVCodecContext* dec = nullptr;
  AVFrame* frame = av_frame_alloc();
  AVPacket* packet = av_packet_alloc();
  SwsContext* sws = nullptr;
  int64_t count = 0;
  std::string error;
  try {
    ret = avformat_find_stream_info(fmt, nullptr);
    WAN_CHECK(ret >= 0, path, ": cannot read: ", av_error(ret));
    const int stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    WAN_CHECK(stream >= 0, path, ": no video stream");
    const AVCodec* codec = avcodec_find_decoder(fmt->streams[stream]->codecpar->codec_id);
    WAN_CHECK(codec, path, ": this FFmpeg cannot decode its video");
    dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(dec, fmt->streams[stream]->codecpar);
    ret = avcodec_open2(dec, codec, nullptr);
    WAN_CHECK(ret >= 0, path, ": cannot open the decoder: ", av_error(ret));
    auto drain = [&] {
      while ((ret = avcodec_receive_frame(dec, frame)) >= 0) {
        RgbFrame out;
        out.width = frame->width;
        out.height = frame->height;
        out.rgb.resize(size_t(out.width * out.height * 3));
        sws = sws_getCachedContext(sws, frame->width, frame->height, AVPixelFormat(frame->format), frame->width,
                                   frame->height, AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT,
                                   nullptr, nullptr, nullptr);
        WAN_CHECK(sws, path, ": cannot convert its pixel format to RGB");
        uint8_t* dst[4] = {out.rgb.data(), nullptr, nullptr, nullptr};
        int dst_stride[4] = {int(out.width * 3), 0, 0, 0};
        sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, dst_stride);
        sink(out);
        ++count;
      }
      WAN_CHECK(ret == AVERROR(EAGAIN) || ret == AVERROR_EOF, path, ": decoding failed: ", av_error(ret));
    };
    while (av_read_frame(fmt, packet) >= 0) {
      if (packet->stream_index == stream) {
        ret = avcodec_send_packet(dec, packet);
        av_packet_unref(packet);
        WAN_CHECK(ret >= 0, path, ": decoding failed: ", av_error(ret));
        drain();
      } else {
        av_packet_unref(packet);
      }
    }
    avcodec_send_packet(dec, nullptr);  // flush
    drain();
  } catch (const Error& e) {
    error = e.what();
  }
  sws_freeContext(sws);
  av_packet_free(&packet);
  av_frame_free(&frame);
  avcodec_free_context(&dec);
  avformat_close_input(&fmt);
  if (!error.empty()) throw Error(error);
  return count;
}

}  // namespace

int64_t read_video_frames(const std::string& path, const std::function<void(const RgbFrame&)>& sink) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    WAN_CHECK(fs::exists(path, ec), path, ": no such file or folder");
    return decode_file(path, sink);
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".png") files.push_back(entry.path().string());
  WAN_CHECK(!files.empty(), path, ": a folder with no .png frames");
  std::sort(files.begin(), files.end());
  int64_t count = 0;
  for (const std::string& f : files) count += decode_file(f, sink);
  return count;
}

}  // namespace wan
