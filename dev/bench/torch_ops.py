"""Same-machine PyTorch baseline for tools/bench/bench_ops.cpp: the same shapes, bf16, random
inputs, warm-up, median of 20 CUDA-event-timed runs. The official code runs these linears under
autocast bf16, with GELU(tanh) as a separate kernel after ffn.0."""
import json

import torch
import torch.nn.functional as F


def median_ms(fn, warmup=5, reps=20):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def main():
    torch.manual_seed(0)
    print("device:", torch.cuda.get_device_name(), "torch", torch.__version__)
    cases = [
        ("qkv/o 720p", 75600, 5120, 5120, False),
        ("ffn1+gelu 720p", 75600, 5120, 13824, True),
        ("ffn2 720p", 75600, 13824, 5120, False),
        ("qkv/o 480p", 32760, 5120, 5120, False),
        ("ffn1+gelu 480p", 32760, 5120, 13824, True),
        ("cross k/v 512", 512, 5120, 5120, False),
    ]
    print(f"{'torch linear':<16} {'M':>8} {'K':>6} {'N':>6} {'ms':>10} {'TFLOP/s':>9}")
    for name, m, k, n, gelu in cases:
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.02
        b = torch.randn(n, device="cuda", dtype=torch.bfloat16) * 0.02
        if gelu:
            fn = lambda: F.gelu(F.linear(x, w, b), approximate="tanh")
        else:
            fn = lambda: F.linear(x, w, b)
        ms = median_ms(fn)
        tflops = 2 * m * k * n / (ms * 1e-3) / 1e12
        print(f"{name:<16} {m:>8} {k:>6} {n:>6} {ms:>10.3f} {tflops:>9.1f}")
        print("JSON", json.dumps({"op": "torch_linear", "name": name, "M": m, "K": k, "N": n, "ms": round(ms, 4),
                                  "tflops": round(tflops, 1)}))


def attention():
    cases = [
        ("self 720p A14B", 75600, 75600, 40, 128),
        ("self 480p A14B", 32760, 32760, 40, 128),
        ("self 704p 5B", 27280, 27280, 24, 128),
        ("cross 720p A14B", 75600, 512, 40, 128),
    ]
    print(f"\n{'torch attention':<16} {'Lq':>8} {'Lk':>8} {'H':>4} {'ms':>10} {'TFLOP/s':>9}")
    for name, lq, lk, h, d in cases:
        # [B, L, H, D] as the official code holds it, transposed to SDPA's [B, H, L, D] view.
        q = torch.randn(1, lq, h, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
        k = torch.randn(1, lk, h, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
        v = torch.randn(1, lk, h, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
        ms = median_ms(lambda: F.scaled_dot_product_attention(q, k, v), warmup=3, reps=10)
        tflops = 4 * lq * lk * d * h / (ms * 1e-3) / 1e12
        print(f"{name:<16} {lq:>8} {lk:>8} {h:>4} {ms:>10.3f} {tflops:>9.1f}")
        print("JSON", json.dumps({"op": "torch_sdpa", "name": name, "Lq": lq, "Lk": lk, "H": h, "ms": round(ms, 4),
                                  "tflops": round(tflops, 1)}))


def conv3d():
    """The VAE decoders' heaviest 3x3x3 convolutions as PyTorch runs them with channels_last_3d (the
    official VAE runs NCDHW f32, which cuDNN allows TF32 for by default)."""
    cases = [
        ("2.1 96ch 720p", 96, 6, 720, 1280, 96, torch.bfloat16),
        ("2.1 96ch 720p", 96, 6, 720, 1280, 96, torch.float32),
        ("2.1 192ch 360p", 192, 6, 360, 640, 192, torch.bfloat16),
        ("2.1 384ch 180p", 384, 4, 180, 320, 384, torch.bfloat16),
        ("2.1 head 96->3", 96, 6, 720, 1280, 3, torch.bfloat16),
        ("2.2 256ch 352p", 256, 6, 352, 640, 256, torch.bfloat16),
        ("2.2 512ch 176p", 512, 6, 176, 320, 512, torch.bfloat16),
        ("2.2 1024ch 88p", 1024, 4, 88, 160, 1024, torch.bfloat16),
    ]
    print(f"\n{'torch conv3d':<16} {'dtype':>8} {'ms':>10} {'TFLOP/s':>9} {'NCDHW f32 ms':>13}")
    for name, c, t, h, w, o, dtype in cases:
        x = torch.randn(1, c, t, h, w, device="cuda", dtype=dtype).to(memory_format=torch.channels_last_3d)
        wt = (torch.randn(o, c, 3, 3, 3, device="cuda", dtype=dtype) * 0.02).to(memory_format=torch.channels_last_3d)
        b = torch.randn(o, device="cuda", dtype=dtype) * 0.02
        ms = median_ms(lambda: F.conv3d(x, wt, b, padding=(0, 1, 1)), warmup=3, reps=10)
        tflops = 2 * o * c * 27 * (t - 2) * h * w / (ms * 1e-3) / 1e12
        ncdhw = ""
        if dtype == torch.float32:  # the official layout too
            xc, wc = x.contiguous(), wt.contiguous()
            ncdhw = f"{median_ms(lambda: F.conv3d(xc, wc, b, padding=(0, 1, 1)), warmup=3, reps=10):.3f}"
        print(f"{name:<16} {str(dtype).split('.')[-1]:>8} {ms:>10.3f} {tflops:>9.1f} {ncdhw:>13}")
        print("JSON", json.dumps({"op": "torch_conv3d", "name": name, "dtype": str(dtype), "ms": round(ms, 4),
                                  "tflops": round(tflops, 1)}))
        del x, wt


if __name__ == "__main__":
    main()
    attention()
    conv3d()
