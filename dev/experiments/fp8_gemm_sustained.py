# The FP8 tensor-core rate this card sustains at its power limit: PyTorch's row-wise scaled FP8
# product (cuBLASLt) at the A14B 720p FFN's shape, back to back for SECONDS (default 10), timed
# with CUDA events in one-second windows, beside nvidia-smi's SM clock and power for the same
# window. A GEMM has no softmax: its sustained rate bounds what any attention's two products can
# reach on this card, and (with the DiT's FLOPs) how fast any exact FP8 forward can be.
#   python3 dev/experiments/fp8_gemm_sustained.py [SECONDS]
import subprocess, sys, time
import torch

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
M, K, N = 75600, 5120, 13824
g = torch.Generator(device="cuda").manual_seed(1)
a = torch.randn(M, K, device="cuda", generator=g).to(torch.float8_e4m3fn)
b = torch.randn(N, K, device="cuda", generator=g).to(torch.float8_e4m3fn)
sa = torch.rand(M, 1, device="cuda", generator=g) + 0.5
sb = torch.rand(1, N, device="cuda", generator=g) + 0.5
flop = 2.0 * M * N * K

def product():
    return torch._scaled_mm(a, b.t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16)

def smi():
    q = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm,power.draw", "--format=csv,noheader,nounits"],
                       capture_output=True, text=True).stdout.strip().split(",")
    return float(q[0]), float(q[1])

for _ in range(3):
    product()
torch.cuda.synchronize()
start = time.time()
rates = []
while time.time() - start < seconds:
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(2)]
    n = 0
    ev[0].record()
    t0 = time.time()
    while time.time() - t0 < 1.0:  # enqueue about a second of work
        product()
        n += 1
        if n % 8 == 0:
            torch.cuda.synchronize()
    ev[1].record()
    clock, power = smi()  # sampled while the window's last products still run
    torch.cuda.synchronize()
    ms = ev[0].elapsed_time(ev[1]) / n
    rates.append(flop / ms / 1e9)
    print(f"t={time.time() - start:5.1f} s  {M}x{K}x{N} fp8: {ms:.3f} ms  {rates[-1]:.0f} TFLOP/s  "
          f"SM {clock:.0f} MHz  {power:.0f} W", flush=True)
steady = sorted(rates[2:] or rates)
print(f"sustained (median of windows after the first two): {steady[len(steady) // 2]:.0f} TFLOP/s")
