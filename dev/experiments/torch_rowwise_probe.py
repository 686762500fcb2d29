# Which kernel PyTorch's row-wise scaled FP8 product runs on this card.
import torch
M, N, K = 8192, 5120, 5120
a = torch.randn(M, K, device="cuda").to(torch.float8_e4m3fn)
b = torch.randn(N, K, device="cuda").to(torch.float8_e4m3fn)
sa = torch.rand(M, 1, device="cuda") + 0.5
sb = torch.rand(1, N, device="cuda") + 0.5
from torch.profiler import profile, ProfilerActivity
for i in range(3):
    y = torch._scaled_mm(a, b.t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16)
with profile(activities=[ProfilerActivity.CUDA]) as p:
    y = torch._scaled_mm(a, b.t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16)
    torch.cuda.synchronize()
for e in p.key_averages():
    print("kernel:", e.key[:160])
ev = [torch.cuda.Event(enable_timing=True) for _ in range(2)]
ev[0].record()
for i in range(20):
    y = torch._scaled_mm(a, b.t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16)
ev[1].record(); torch.cuda.synchronize()
ms = ev[0].elapsed_time(ev[1]) / 20
print(f"rowwise scaled_mm {M}x{K}x{N}: {ms:.3f} ms, {2*M*N*K/ms/1e9:.0f} TFLOP/s")
