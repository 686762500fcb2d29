/* wan.h: the C API of the Wan 2.2 video engine.
 *
 * A context holds one loaded checkpoint (the text encoder, the DiT experts and the VAE) on a
 * device; wan_generate runs text to video on it and hands the frames out as they are decoded,
 * and/or writes them as an mp4. Parameters come as structs filled by *_default_params(), so a
 * program only sets what it cares about. Every call returns a status; on failure
 * wan_last_error() says what went wrong and what to do, in English.
 *
 * Threads: one context is used by one thread at a time; different contexts may run in parallel.
 * Callbacks run on the calling thread, inside the call that takes them.
 *
 *   wan_context_params cp = wan_context_default_params();
 *   cp.checkpoint_dir = "Wan2.2-T2V-A14B";
 *   wan_context* ctx;
 *   if (wan_context_create(&cp, &ctx) != WAN_OK) { puts(wan_last_error()); return 1; }
 *   wan_generate_params gp = wan_generate_default_params();
 *   gp.prompt = "a red fox running through snow";
 *   gp.output_path = "fox.mp4";
 *   wan_status s = wan_generate(ctx, &gp, NULL);
 *   wan_context_free(ctx); */
#ifndef WAN_WAN_H
#define WAN_WAN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wan_status {
  WAN_OK = 0,
  WAN_ERROR_INVALID_ARGUMENT = 1, /* bad input from the caller; the message says which */
  WAN_ERROR_IO = 2,               /* a file could not be read or written, or is malformed */
  WAN_ERROR_OUT_OF_MEMORY = 3,
  WAN_ERROR_UNSUPPORTED = 4, /* valid input this build or machine cannot run */
  WAN_ERROR_INTERNAL = 5,
  WAN_ERROR_CANCELLED = 6 /* a callback asked to stop; nothing was written */
} wan_status;

typedef enum wan_device { WAN_DEVICE_CPU = 0, WAN_DEVICE_CUDA = 1 } wan_device;

/* Where T2V-A14B's two experts live (the official --offload_model): AUTO keeps both on the GPU when
 * the largest official size fits with both, else the inactive one in page-locked host memory
 * (swapped once per video, at the boundary step); ON always offloads; OFF never does. */
typedef enum wan_offload { WAN_OFFLOAD_AUTO = 0, WAN_OFFLOAD_ON = 1, WAN_OFFLOAD_OFF = 2 } wan_offload;

/* The DiT's arithmetic on CUDA. BF16: bf16 weights, products and attention (the official
 * --convert_model_dtype). FP8: the blocks' Linear weights in E4M3 (a scale per output channel),
 * their inputs quantised per token, self-attention in E4M3 on Hopper (cuDNN's or the engine's own
 * kernel, the faster; bf16 on Ada); embeddings, modulation, norms, cross-attention and the head stay bf16. FP8 halves the DiT's weights and runs a T2V-A14B 720p
 * forward about 1.36x faster on an H100; its output is ~1.5e-2 (relative L2) from the official one
 * on the test models, where bf16 is ~3e-3 (docs/performance.md). It needs compute capability 8.9
 * (Ada) or later: on an older GPU the context falls back to BF16 with a warning
 * (wan_context_precision says which runs). WAN_DEVICE_CPU with FP8 is an invalid argument. */
typedef enum wan_precision { WAN_PRECISION_BF16 = 0, WAN_PRECISION_FP8 = 1 } wan_precision;

typedef enum wan_solver { WAN_SOLVER_UNIPC = 0, WAN_SOLVER_DPMPP = 1, WAN_SOLVER_EULER = 2 } wan_solver;

typedef enum wan_log_level {
  WAN_LOG_DEBUG = 0,
  WAN_LOG_INFO = 1,
  WAN_LOG_WARNING = 2,
  WAN_LOG_ERROR = 3
} wan_log_level;

/* The library's version, "major.minor.patch". */
const char* wan_version(void);

/* A short English description of a status code. */
const char* wan_status_string(wan_status status);

/* The message of the last failed call on this thread ("" if none). Valid until the next call. */
const char* wan_last_error(void);

/* 1 when this build can write mp4 and PNG files (it was built with FFmpeg), else 0: then
 * output_path and frames_dir are refused with WAN_ERROR_UNSUPPORTED and frames come only
 * through on_frames. */
int wan_video_output_available(void);

/* 1 when this build has the CUDA backend and a usable GPU is present, else 0. */
int wan_cuda_available(void);

/* One line describing the GPU ("NVIDIA H100 80GB HBM3, 132 SMs, 79.2 GiB, compute 9.0") or why
 * there is none; valid until the next call on this thread. */
const char* wan_cuda_device_summary(void);

/* The number of CUDA devices this process sees (0 without the CUDA backend or a GPU). */
int wan_cuda_device_count(void);

/* Several GPUs for one video: one process per GPU, each creating its context with the same
 * cfg_parallel / ulysses settings, joined over NCCL (loaded at run time: libnccl.so.2, or the
 * file WAN_NCCL_LIBRARY names). Each process learns its place from the environment:
 * WAN_RANK (0 .. WAN_WORLD_SIZE-1), WAN_WORLD_SIZE (= (cfg_parallel ? 2 : 1) * ulysses) and
 * WAN_NCCL_ID (the same id in every process, from wan_nccl_unique_id), and uses its CUDA
 * device 0 (order CUDA_VISIBLE_DEVICES so that device 0 differs per rank). `wan generate
 * --cfg-parallel --ulysses N` starts the processes this way. Rank 0 alone encodes the text,
 * decodes and hands out frames or writes files; the others return from wan_generate after the
 * last step with result->frames = 0.
 *
 * Writes a fresh NCCL unique id (256 hex digits and a NUL) into `hex` (at least 257 bytes).
 * WAN_ERROR_UNSUPPORTED when NCCL or CUDA is missing. */
wan_status wan_nccl_unique_id(char* hex, int32_t size);

/* This process's rank among several GPUs' (WAN_RANK), or -1 when it was not started as one; -2
 * when the rank variables are malformed (wan_last_error says which). */
int32_t wan_process_rank(void);

/* Runs this program (/proc/self/exe) again as `world` processes, one per GPU, with `args` (the
 * arguments after the program's name) and the rank variables above set for each (a fresh NCCL id,
 * CUDA_VISIBLE_DEVICES narrowed to one GPU per process); waits for them and, as soon as one fails,
 * stops the others (a rank left alone would wait forever). *exit_code: 0 when all succeed, else
 * the first failure's (128 + signal for a rank killed by one). WAN_ERROR_UNSUPPORTED before
 * starting anything when there are fewer than `world` GPUs or no NCCL. This is how `wan generate
 * --cfg-parallel --ulysses N` starts; each process then creates its context with the same
 * cfg_parallel / ulysses. */
wan_status wan_launch_ranks(int32_t world, const char* const* args, int32_t arg_count, int32_t* exit_code);

/* Receives the library's messages (warnings such as a non-official size, progress notes) while a
 * call on this context runs. NULL: they go to stderr. */
typedef void (*wan_log_callback)(void* user_data, wan_log_level level, const char* message);

typedef struct wan_context_params {
  const char* checkpoint_dir; /* a folder in the official layout (required, unless random_weights is set) */
  const char* task;           /* "t2v-A14B" or "ti2v-5B"; NULL: detected from the folder */
  wan_device device;          /* where the DiT, the VAE decoder and the text encoder run (default CPU) */
  int threads;                /* CPU threads for the whole process; 0: leave as is (all cores) */
  int32_t t5_cpu;             /* nonzero: the text encoder on the CPU (official --t5_cpu); else on `device` */
  int32_t cfg_parallel;       /* nonzero: the two CFG branches on two groups of GPUs (see wan_nccl_unique_id) */
  int32_t ulysses;            /* sequence-parallel degree (0 or 1: off); divides the DiT's head count */
  wan_offload offload;        /* T2V-A14B on CUDA: the inactive expert in host memory (default AUTO) */
  int32_t vae_f32;            /* nonzero: the GPU VAE decoder in f32 (TF32 convolutions, as the official f32 VAE
                                 under PyTorch's defaults); else bf16 activations: about 3x faster and half
                                 the memory, output ~1e-2 (relative L2) from f32 */
  wan_precision precision;    /* the DiT's arithmetic on CUDA (default BF16; see wan_precision) */
  wan_log_callback log_callback;
  void* log_user_data;
  const struct wan_random_weights* random_weights; /* testing and timing only; NULL: load checkpoint_dir */
} wan_context_params;

/* A context without a checkpoint, for testing and timing whole runs at the real size (`wan bench
 * e2e --random`): `task` (required) with random weights, the DiTs and the VAE made on the GPU
 * (WAN_DEVICE_CUDA only), the text encoder with `t5_layers` layers of the real width (run where
 * t5_cpu says, like a loaded one); checkpoint_dir is ignored, the other settings apply. Its videos
 * are noise. */
typedef struct wan_random_weights {
  int32_t t5_layers;           /* 1 to 24; 0: the real 24 */
  uint64_t seed;
  const char* tokenizer_model; /* required: a SentencePiece model (the demo data's tests/data/tokenizer/spiece.model) */
} wan_random_weights;

typedef struct wan_context wan_context;

wan_context_params wan_context_default_params(void);

/* Loads the checkpoint. On success *out is a new context (free it with wan_context_free). */
wan_status wan_context_create(const wan_context_params* params, wan_context** out);
void wan_context_free(wan_context* ctx); /* NULL is allowed */

/* The context's task ("t2v-A14B" or "ti2v-5B"); valid while the context lives. */
const char* wan_context_task(const wan_context* ctx);

/* 1 when wan_generate on this context hands out frames and writes files: always, except on the
 * ranks other than 0 of several GPUs. */
int wan_context_produces_frames(const wan_context* ctx);
/* 1 when this context keeps T2V-A14B's inactive expert in host memory (wan_context_params.offload). */
int wan_context_offloads_experts(const wan_context* ctx);
/* The precision the context's DiT runs in (BF16 where FP8 was asked on a GPU without it). */
wan_precision wan_context_precision(const wan_context* ctx);

/* Frames as they are decoded: `count` frames of height x width RGB (3 bytes per pixel, rows top
 * to bottom), frame `first_index` first. The pixels are valid only during the callback. */
typedef struct wan_frames {
  int32_t width, height, count, first_index;
  const uint8_t* rgb; /* count * height * width * 3 bytes */
} wan_frames;

/* Progress: called when a stage starts (step 0, timestep 0) and after every denoising step. */
typedef struct wan_progress {
  const char* stage;          /* "text encoder", "denoising" or "decoding" */
  int32_t step, total_steps;  /* denoising steps done and in all */
  int32_t timestep;           /* the last step's timestep (999 ... 0) */
  int32_t high_noise;         /* 1 while T2V-A14B's high-noise expert runs */
} wan_progress;

/* Return nonzero from a callback to stop: wan_generate then returns WAN_ERROR_CANCELLED. */
typedef int (*wan_progress_callback)(void* user_data, const wan_progress* progress);
typedef int (*wan_frames_callback)(void* user_data, const wan_frames* frames);

typedef struct wan_generate_params {
  const char* prompt;          /* required */
  const char* negative_prompt; /* NULL: the official default negative prompt */
  int32_t width, height;       /* pixels; 0: the task's default (1280x720, 1280x704) */
  int32_t frames;              /* 4n+1; 0: the task's default (81, 121) */
  int32_t steps;               /* 0: the task's default (40, 50) */
  double shift;                /* noise schedule shift; 0: the task's default (12, 5) */
  double guide_scale_low;      /* CFG scale of the low-noise expert (or the only model); 0: default */
  double guide_scale_high;     /* CFG scale of the high-noise expert; 0: default */
  wan_solver solver;
  int64_t seed; /* negative: a random seed, reported in wan_generate_result */
  const char* output_path; /* write an H.264 mp4 here (".mp4"); NULL: frames only through the callback */
  const char* frames_dir;  /* also write every frame as frame_00000.png, ... here (created); may be NULL */
  wan_progress_callback on_progress; /* after every denoising step; may be NULL */
  wan_frames_callback on_frames;     /* as frames are decoded; may be NULL */
  void* user_data;                   /* passed to both callbacks */
} wan_generate_params;

typedef struct wan_generate_result {
  int64_t seed;           /* the seed used */
  int32_t width, height;  /* the resolved size */
  int32_t frames;         /* frames produced */
  int32_t steps;
  double seconds;         /* wall time of the call */
  /* Where the time went (wall seconds): */
  double text_seconds;       /* encoding the prompt and the negative prompt */
  double denoise_seconds;    /* every denoising step */
  double high_noise_seconds; /* of which T2V-A14B's high-noise expert (including its swap-in when offloaded) */
  double decode_seconds;     /* the VAE decode (without writing) */
  double write_seconds;      /* writing the mp4 / PNG files and handing frames to on_frames */
  double peak_gpu_gib;       /* the largest GPU memory this process's tensors held during the call (0 without
                                a GPU; contexts running at the same time share the count) */
} wan_generate_result;

wan_generate_params wan_generate_default_params(void);

/* Checks the checkpoint folder's files and the request without loading any weights (so a bad
 * request fails in milliseconds, not after minutes of loading): fills the task's defaults into a
 * copy of `params` and validates it (size a multiple of the latent grid, 4n+1 frames, an output
 * folder that exists, and with WAN_DEVICE_CUDA enough free GPU memory for the predicted peak:
 * the error then names the sizes that would fit; with cfg_parallel/ulysses a Ulysses degree that
 * divides the head count, and the memory only in a process that has a rank). *resolved gets
 * the values wan_generate will use (a negative seed stays negative); its strings point into
 * `params`. `resolved` may be NULL. */
wan_status wan_resolve_params(const wan_context_params* context, const wan_generate_params* params,
                              wan_generate_params* resolved);

/* The GPU memory a request would need with WAN_DEVICE_CUDA, predicted from the sizes of what
 * lives on the GPU (both A14B experts resident, bf16 or FP8; the VAE decoder; per GPU with ulysses) and
 * checked against whole runs on an H100 (bf16 VAE: T2V-A14B 720p: 62.2 GiB predicted, 61.19
 * measured; TI2V-5B 720p: 19.0 / 17.97; vae_f32 adds the f32 decode's tensors). The DiT's config comes from checkpoint_dir, or from the official
 * task config when checkpoint_dir is NULL and task is set (no checkpoint needed). */
typedef struct wan_memory_prediction {
  double peak_gib;            /* the run's peak: the larger phase, plus the margin */
  int32_t experts;            /* DiT experts resident */
  double dit_weights_gib;     /* all resident experts */
  double dit_activations_gib; /* one forward's tensors above its weights, with the text cache */
  double vae_weights_gib;
  double vae_decode_gib;      /* the decoder's tensors, at their peak */
  double margin_gib;          /* library workspaces and fragmentation */
  double free_gib;            /* free on this process's GPU now; 0 without one */
  int32_t fits;               /* 1 when a GPU is present and peak_gib <= free_gib */
  int32_t width, height, frames; /* the request's size with the task's defaults filled in */
  int32_t offloaded_experts;  /* T2V-A14B experts kept in host memory (offload ON, or AUTO when both do not fit) */
} wan_memory_prediction;

wan_status wan_predict_memory(const wan_context_params* context, const wan_generate_params* params,
                              wan_memory_prediction* out);

/* Text to video. `result` may be NULL. The mp4, if asked for, is written to a temporary name and
 * renamed into place at the end: on any failure or cancellation no file is left. */
wan_status wan_generate(wan_context* ctx, const wan_generate_params* params, wan_generate_result* result);

/* Assembles the built-in demo checkpoint (tiny random weights: its videos are noise) at
 * `dest_dir` from the source tree's tests/data folder `data_dir`, if not there yet. */
wan_status wan_prepare_demo_checkpoint(const char* data_dir, const char* dest_dir);

/* ---- Tools: describing the machine, comparing videos, converting checkpoints ---- */

/* The CPU threads the library's parallel loops use. */
int wan_cpu_thread_count(void);

/* One GPU as the engine sees it. */
typedef struct wan_device_info {
  char name[256];
  int32_t compute_capability; /* 10 * major + minor: 90 for an H100 */
  int32_t multiprocessors;
  int64_t total_memory;       /* bytes */
  int64_t free_memory;        /* bytes, now */
  int32_t fp8;                /* 1 when WAN_PRECISION_FP8 runs on it (compute capability 8.9 or later;
                                 its self-attention in FP8 from 9.0, bf16 on Ada) */
} wan_device_info;

/* Fills *out for CUDA device `index` (0 .. wan_cuda_device_count() - 1). WAN_ERROR_UNSUPPORTED
 * without the CUDA backend or a GPU. */
wan_status wan_get_device_info(int32_t index, wan_device_info* out);

/* "CUDA runtime 13.0, driver API 13.0, cuBLASLt 13.1.0, cuDNN 9.14.0": the GPU libraries loaded at
 * run time, or why there are none. Valid until the next call on this thread. */
const char* wan_cuda_library_versions(void);

/* The GPU code this build carries ("sm_80 sm_89 sm_90a compute_90": CMake's WAN_CUDA_GENCODE; a
 * GPU runs an sm_XY code of its own major version and minor XY or below, or compiles compute_XY
 * PTX of XY or below), or "" without the CUDA backend. Static storage. */
const char* wan_cuda_build_targets(void);

/* Where the choices a GPU's first forward makes by timing (matrix-product algorithms, attention
 * engines) are kept for later runs: "/home/me/.cache/wan/tuning-cache.tsv (214 choices for this GPU
 * and its libraries)", "off (WAN_TUNING_CACHE=off)", or the file and "(used with a GPU)" without
 * one. WAN_TUNING_CACHE names another file. Valid until the next call on this thread. */
const char* wan_tuning_cache_description(void);

/* "FFmpeg libavcodec 59.37.100, libavformat 59.27.100, libswscale 6.7.100, libavutil 57.28.100": the
 * video libraries loaded at run time, or "none (built without FFmpeg)". Valid until the next call
 * on this thread. */
const char* wan_video_library_versions(void);

/* Which NCCL several GPUs would use ("NCCL 2.28.3 (libnccl.so.2)"), or why none is usable. Valid
 * until the next call on this thread. */
const char* wan_nccl_description(void);

/* How two frames of one size differ (8-bit RGB). */
typedef struct wan_frame_difference {
  double psnr;     /* dB, 10 log10(255^2 / MSE) over every R, G, B value; +inf for identical frames */
  double ssim;     /* SSIM of the BT.601 luma (11x11 Gaussian window, sigma 1.5); 1 for identical frames */
  int32_t max_abs; /* the largest difference of one 8-bit value */
} wan_frame_difference;

typedef struct wan_video_comparison {
  int64_t frames, width, height;
  int64_t differing_frames; /* frames with a finite PSNR */
  double mean_psnr;         /* over the differing frames; +inf when every frame is identical */
  double mean_ssim;         /* over all frames */
  int32_t max_abs;          /* over all frames */
  int64_t worst_frame;      /* the frame with the lowest PSNR (the first of equals) */
  wan_frame_difference worst;
} wan_video_comparison;

/* Compares two videos frame by frame: each an mp4 file or a folder of PNG frames
 * (frame_00000.png, ...), both of one size and frame count (WAN_ERROR_INVALID_ARGUMENT
 * otherwise, saying which). per_frame: NULL, or room for `capacity` entries, which get the first
 * frames' numbers. WAN_ERROR_UNSUPPORTED when this build has no FFmpeg to read videos. */
wan_status wan_compare_videos(const char* a, const char* b, wan_video_comparison* out,
                              wan_frame_difference* per_frame, int64_t capacity);

/* What wan_convert_checkpoint did. */
typedef struct wan_convert_report {
  int64_t dit_folders, tensors, shards;
  int64_t bytes_read, bytes_written; /* the DiT tensors */
  int64_t other_files;               /* linked or copied as they are */
} wan_convert_report;

/* Writes the checkpoint folder `src` (official T2V-A14B or TI2V-5B layout, or one DiT folder) again
 * as the new folder `dst` with the DiT weights in `dtype` ("bf16", "f16" or "f32"; NULL: bf16), in
 * safetensors shards of at most shard_bytes (0: 5 GB) with the official index; every other file is
 * linked or copied. Loading a bf16 copy skips the fp32 -> bf16 conversion. "fp8": the blocks' Linear
 * weights in float8_e4m3fn per output row with a scale_weight beside each (as WAN_PRECISION_FP8
 * quantises them at load: an FP8 run of the copy computes the same), the rest bf16; a quarter of
 * the official fp32 bytes. `dst` is built under a
 * temporary name and renamed at the end: on failure nothing is left. `report` may be NULL. */
wan_status wan_convert_checkpoint(const char* src, const char* dst, const char* dtype, int64_t shard_bytes,
                                  wan_convert_report* report);

/* ---- Checkpoints: what a folder or file holds, its tensors, random weights ---- */

/* One part of a checkpoint: a DiT folder, the text encoder, the tokenizer, the VAE, or a lone
 * tensor file. */
typedef struct wan_checkpoint_part {
  char role[32];       /* "high_noise_model", "low_noise_model", "dit", "text_encoder", "tokenizer", "vae" or
                          "tensors" (a lone .safetensors / .index.json / .pth file) */
  char path[1024];
  int32_t present;     /* 0: the file or folder is missing */
  int64_t tensors;     /* tensors it holds (0 for the tokenizer) */
  int64_t bytes;       /* their bytes */
  char dtypes[128];    /* bytes per dtype, e.g. "bf16 28.577 GB, f32 1.234 MB" */
  char config[256];    /* a DiT's config in brief ("t2v dim 5120, 40 layers, ..."), from its config.json, or
                          inferred from the weights' shapes when there is none (then it says so); "" otherwise */
  int64_t parameters;  /* a DiT's parameter count by its config; 0 otherwise */
  char problem[1024];  /* "" when the part is present, readable and (a DiT) has every tensor its config needs,
                          in the right shape; else what is wrong and what to do */
} wan_checkpoint_part;

#define WAN_CHECKPOINT_MAX_PARTS 8

typedef struct wan_checkpoint_info {
  char task[32];      /* "t2v-A14B" or "ti2v-5B" for a whole checkpoint folder; "" for one DiT folder or a file */
  int32_t complete;   /* 1 when no part has a problem */
  int32_t part_count;
  wan_checkpoint_part parts[WAN_CHECKPOINT_MAX_PARTS];
} wan_checkpoint_info;

/* Describes `path` without loading any weights (the files are mapped, only their headers read): a
 * whole checkpoint folder in the official layout (its task and each part: the DiT folder or the
 * two experts', the text encoder, the tokenizer, the VAE; ComfyUI's files may stand in for the
 * official ones, and each part's `path` names the file taken: the user guide says which), one DiT
 * folder (config.json +
 * diffusion_pytorch_model*.safetensors, or a single .safetensors file of any name, whose config is
 * then inferred from its shapes), or one tensor file (.safetensors, .index.json, .pth).
 * What is wrong with a part (missing, unreadable, a tensor missing or of the wrong shape) is in
 * its `problem`, and the call still succeeds; WAN_ERROR_IO when `path` does not exist, is none of
 * these, or is a lone file that cannot be read. */
wan_status wan_inspect_checkpoint(const char* path, wan_checkpoint_info* out);

typedef struct wan_tensor_info {
  char name[256];
  char dtype[16]; /* "f32", "bf16", "f16", "f8_e4m3", ... */
  int32_t ndim;
  int64_t shape[8];
  int64_t bytes;
} wan_tensor_info;

/* The tensors of a DiT folder or a tensor file, sorted by name: the first `capacity` into `out`
 * (which may be NULL when capacity is 0), the number of all into *count (count may be NULL). */
wan_status wan_list_tensors(const char* path, wan_tensor_info* out, int64_t capacity, int64_t* count);

typedef struct wan_random_checkpoint_params {
  const char* task;            /* "t2v-A14B" (default) or "ti2v-5B" */
  int32_t dit_layers;          /* DiT blocks; 0: the real count (40, 30) */
  int32_t t5_layers;           /* text encoder layers; 0: the real 24 */
  uint64_t seed;               /* default 1 */
  const char* tokenizer_model; /* required: a SentencePiece model placed as google/umt5-xxl/spiece.model (the
                                  demo data's tests/data/tokenizer/spiece.model will do) */
  int32_t dit_fp8_scaled;      /* nonzero: each DiT as one file in ComfyUI's "fp8_scaled" form (block weights in
                                  float8_e4m3fn with an f32 scale_weight each, the rest bf16, no config.json), as a
                                  downloaded fp8_scaled expert dropped into its folder; A14B ~41 GB on disk (the two
                                  DiTs 29 GB) */
} wan_random_checkpoint_params;

wan_random_checkpoint_params wan_random_checkpoint_default_params(void);

/* Writes a new checkpoint folder `dir` in the official layout and file formats (the DiT as fp32
 * safetensors shards with config.json and index, the text encoder as a bf16 .pth, the VAE as an
 * f32 .pth) with random weights at the task's real sizes, or with fewer layers: loading, memory
 * and speed can then be tested at the real size without downloading weights (its videos are
 * noise). On disk: T2V-A14B ~125 GB, TI2V-5B ~35 GB. `dir` must not exist; it is built under a
 * temporary name and renamed at the end, so on failure nothing is left. `report` (may be NULL)
 * counts the DiT tensors written. */
wan_status wan_write_random_checkpoint(const char* dir, const wan_random_checkpoint_params* params,
                                       wan_convert_report* report);

/* ---- Benchmarks: the DiT and the VAE at real sizes, random weights made on the GPU ---- */
/* No checkpoint is needed; the inputs are random too (never zeros). Each needs a GPU:
 * WAN_ERROR_UNSUPPORTED without one. Times are wall-clock seconds around work that ends with the
 * GPU idle; "peak" is the largest GPU memory held by tensors since the timed part began. */

typedef struct wan_dit_benchmark_params {
  const char* task;        /* "t2v-A14B" (one expert; default) or "ti2v-5B" */
  int32_t width, height;   /* pixels; 0: the task's default (1280x720, 1280x704) */
  int32_t frames;          /* 4n+1; 0: the task's default (81, 121) */
  int32_t layers;          /* run only this many blocks; 0: all */
  int32_t reps;            /* timed forwards after one warm-up, the median reported; 0: 3 */
  wan_precision precision; /* BF16 (default) or FP8 (compute capability 8.9 or later) */
  int32_t ulysses;         /* > 1: this process is one of `ulysses` ranks splitting the tokens (started by
                              wan_launch_ranks); also checks the output against one GPU's */
} wan_dit_benchmark_params;

typedef struct wan_dit_benchmark_result {
  int32_t width, height, frames, layers, reps;
  int64_t tokens;            /* the self-attention's sequence length */
  double setup_seconds;      /* making the random weights on the GPU */
  double weights_gib;        /* GPU memory in use after that */
  double forward_seconds;    /* the median forward */
  double min_seconds, max_seconds;
  double tflops;             /* matrix products and attention per second, per GPU */
  double peak_gib, reserved_gib;
  /* One more, profiled forward: its wall time and the GPU time between CUDA events by kind; host
   * is the rest (embeddings, the head's host side, launch gaps). */
  double profiled_seconds, attention_seconds, matmul_seconds, all_to_all_seconds, other_seconds, host_seconds;
  double vs_one_gpu;         /* ulysses > 1: relative L2 of the output against one GPU's; else -1 */
  int32_t output_rank;       /* 1 in the process that should report (rank 0, or the only one) */
} wan_dit_benchmark_result;

wan_dit_benchmark_params wan_dit_benchmark_default_params(void);

/* The DiT forward (batch 1, timestep 900, 128 text tokens) at a real config with random weights. */
wan_status wan_benchmark_dit(const wan_dit_benchmark_params* params, wan_dit_benchmark_result* out);

typedef struct wan_vae_benchmark_params {
  int32_t version;        /* 21 (Wan2.1_VAE, T2V-A14B; default) or 22 (Wan2.2_VAE, TI2V-5B) */
  int32_t width, height;  /* 0: 1280x720 (21) or 1280x704 (22) */
  int32_t frames;         /* 4n+1; 0: 81 (21) or 121 (22) */
  int32_t f32;            /* nonzero: f32 activations (TF32 convolutions); else bf16 */
  int32_t reps;           /* timed decodes (and encodes), the median reported; 0: 1 */
  int32_t profile;        /* nonzero: one more decode, its GPU time split by kind into `profile` */
  int32_t encode;         /* nonzero: also time the encoder on a random video of the size */
} wan_vae_benchmark_params;

typedef struct wan_vae_benchmark_result {
  int32_t width, height, frames;
  int32_t latent_frames, latent_height, latent_width;
  int32_t frames_out;       /* frames one decode produced (copied to the host chunk by chunk, as in a run) */
  double decode_seconds, decode_peak_gib, decode_reserved_gib;
  double encode_seconds, encode_peak_gib; /* 0 unless params->encode */
  char profile[512];        /* params->profile: "GPU time 3.1 s: convolution 2.0 s (65%) ..."; else "" */
} wan_vae_benchmark_result;

wan_vae_benchmark_params wan_vae_benchmark_default_params(void);

/* The VAE decoder (after a warm-up decode of 3 latent frames that plans every shape) of a random
 * latent of the size, and with `encode` the encoder. */
wan_status wan_benchmark_vae(const wan_vae_benchmark_params* params, wan_vae_benchmark_result* out);

#ifdef __cplusplus
}
#endif

#endif /* WAN_WAN_H */
