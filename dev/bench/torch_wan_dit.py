"""(A copy of the team's shared/bench/torch_wan_dit.py, kept here so it travels to the GPU machine.)

A PyTorch stand-in for the official Wan 2.2 DiT forward, for side-by-side timing on a GPU.

It does the same work, in the same precisions, as the official single-GPU path (bf16 weights under
bf16 autocast, per-token float32 time embedding, float64 RoPE, float32 norms and residual stream,
torch SDPA attention, cross-attention over all 512 padded text rows), with random weights. It is a
timing baseline only: the golden files are the numerical reference.

Calibration (2026-11-25, one H100 80GB HBM3, torch 2.11, same call): this script took 14.90 s
against the official code's 14.24 s for a T2V-A14B forward at 1280x720x81, and 1.454 s against
1.382 s for TI2V-5B at 1280x704x121: it runs about 5% slower than the official code. Quote ratios
against the official figures in baseline-h100.md where they apply, and say which one you used.

    python3 torch_wan_dit.py --task t2v-A14B --size 1280*720 --frames 81 [--reps 2] [--json out.json]
"""
import argparse, json, math, time

import torch
import torch.nn.functional as F

TASKS = {  # dim, ffn, heads, layers, latent channels, vae stride (t, h, w)
    't2v-A14B': (5120, 13824, 40, 40, 16, (4, 8, 8)),
    'ti2v-5B': (3072, 14336, 24, 30, 48, (4, 16, 16)),
}


def rope_tables(d, device):
    def axis(n):
        f = 1.0 / torch.pow(10000, torch.arange(0, n, 2, dtype=torch.float64) / n)
        ang = torch.outer(torch.arange(1024, dtype=torch.float64), f)
        return torch.polar(torch.ones_like(ang), ang)
    return [t.to(device) for t in (axis(d - 4 * (d // 6)), axis(2 * (d // 6)), axis(2 * (d // 6)))]


def rope(x, grid, tabs):
    f, h, w = grid
    L, n, d = x.shape[1], x.shape[2], x.shape[3]
    xc = torch.view_as_complex(x[0].to(torch.float64).reshape(L, n, -1, 2))
    fr = torch.cat([tabs[0][:f].view(f, 1, 1, -1).expand(f, h, w, -1),
                    tabs[1][:h].view(1, h, 1, -1).expand(f, h, w, -1),
                    tabs[2][:w].view(1, 1, w, -1).expand(f, h, w, -1)], dim=-1).reshape(L, 1, -1)
    return torch.view_as_real(xc * fr).flatten(2).unsqueeze(0).float()


class Block(torch.nn.Module):
    def __init__(s, D, Fd, H):
        super().__init__()
        lin = lambda i, o: torch.nn.Linear(i, o)
        s.q, s.k, s.v, s.o = lin(D, D), lin(D, D), lin(D, D), lin(D, D)
        s.cq, s.ck, s.cv, s.co = lin(D, D), lin(D, D), lin(D, D), lin(D, D)
        s.nq, s.nk, s.cnq, s.cnk = (torch.nn.Parameter(torch.ones(D)) for _ in range(4))
        s.n3w, s.n3b = torch.nn.Parameter(torch.ones(D)), torch.nn.Parameter(torch.zeros(D))
        s.f1, s.f2 = lin(D, Fd), lin(Fd, D)
        s.mod = torch.nn.Parameter(torch.randn(1, 6, D) / D ** 0.5)
        s.H = H

    def rms(s, x, w):
        return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6)).type_as(x) * w

    def forward(s, x, e0, grid, tabs, ctx):
        B, L, D = x.shape
        H, d = s.H, D // s.H
        with torch.amp.autocast('cuda', dtype=torch.float32):
            e = (s.mod.unsqueeze(0) + e0).chunk(6, dim=2)
        y = F.layer_norm(x.float(), (D,), eps=1e-6).type_as(x).float() * (1 + e[1].squeeze(2)) + e[0].squeeze(2)
        q = s.rms(s.q(y), s.nq).view(B, L, H, d)
        k = s.rms(s.k(y), s.nk).view(B, L, H, d)
        v = s.v(y).view(B, L, H, d)
        q, k = rope(q, grid, tabs), rope(k, grid, tabs)
        a = F.scaled_dot_product_attention(q.transpose(1, 2).bfloat16(), k.transpose(1, 2).bfloat16(),
                                           v.transpose(1, 2).bfloat16()).transpose(1, 2)
        y = s.o(a.float().flatten(2))
        with torch.amp.autocast('cuda', dtype=torch.float32):
            x = x + y * e[2].squeeze(2)
        n3 = F.layer_norm(x.float(), (D,), s.n3w.float(), s.n3b.float(), eps=1e-6).type_as(x)
        cq = s.rms(s.cq(n3), s.cnq).view(B, L, H, d)
        ck = s.rms(s.ck(ctx), s.cnk).view(B, -1, H, d)
        cv = s.cv(ctx).view(B, -1, H, d)
        a = F.scaled_dot_product_attention(cq.transpose(1, 2).bfloat16(), ck.transpose(1, 2).bfloat16(),
                                           cv.transpose(1, 2).bfloat16()).transpose(1, 2)
        x = x + s.co(a.float().flatten(2))
        y = F.layer_norm(x.float(), (D,), eps=1e-6).type_as(x).float() * (1 + e[4].squeeze(2)) + e[3].squeeze(2)
        y = s.f2(F.gelu(s.f1(y), approximate='tanh'))
        with torch.amp.autocast('cuda', dtype=torch.float32):
            x = x + y * e[5].squeeze(2)
        return x


class DiT(torch.nn.Module):
    def __init__(s, D, Fd, H, layers, C):
        super().__init__()
        s.patch = torch.nn.Conv3d(C, D, (1, 2, 2), (1, 2, 2))
        s.t1, s.t2, s.tp = torch.nn.Linear(256, D), torch.nn.Linear(D, D), torch.nn.Linear(D, 6 * D)
        s.x1, s.x2 = torch.nn.Linear(4096, D), torch.nn.Linear(D, D)
        s.blocks = torch.nn.ModuleList(Block(D, Fd, H) for _ in range(layers))
        s.hmod = torch.nn.Parameter(torch.randn(1, 2, D) / D ** 0.5)
        s.head = torch.nn.Linear(D, 4 * C)
        s.D, s.C = D, C

    def forward(s, x, t, ctx, tabs):
        x = s.patch(x.unsqueeze(0))
        grid = tuple(x.shape[2:])
        x = x.flatten(2).transpose(1, 2)
        L = x.shape[1]
        with torch.amp.autocast('cuda', dtype=torch.float32):
            pos = t.view(1, 1).expand(1, L).flatten().to(torch.float64)
            half = 128
            sin = torch.outer(pos, torch.pow(10000, -torch.arange(half, device=x.device).to(pos).div(half)))
            emb = torch.cat([torch.cos(sin), torch.sin(sin)], 1).float().view(1, L, 256)
            e = s.t2(F.silu(s.t1(emb)))
            e0 = s.tp(F.silu(e)).unflatten(2, (6, s.D))
        c = torch.cat([ctx, ctx.new_zeros(512 - ctx.shape[0], ctx.shape[1])]).unsqueeze(0)
        c = s.x2(F.gelu(s.x1(c), approximate='tanh'))
        for b in s.blocks:
            x = b(x, e0, grid, tabs, c)
        with torch.amp.autocast('cuda', dtype=torch.float32):
            m = (s.hmod.unsqueeze(0) + e.unsqueeze(2)).chunk(2, dim=2)
            x = s.head(F.layer_norm(x, (s.D,), eps=1e-6) * (1 + m[1].squeeze(2)) + m[0].squeeze(2))
        return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--task', default='t2v-A14B', choices=list(TASKS))
    ap.add_argument('--size', default='1280*720')
    ap.add_argument('--frames', type=int, default=81)
    ap.add_argument('--reps', type=int, default=2)
    ap.add_argument('--layers', type=int, default=0, help='fewer blocks, for a quick per-block figure')
    ap.add_argument('--json')
    a = ap.parse_args()
    D, Fd, H, layers, C, st = TASKS[a.task]
    layers = a.layers or layers
    W, Hh = (int(v) for v in a.size.replace('x', '*').split('*'))
    lat = (C, (a.frames - 1) // st[0] + 1, Hh // st[1], W // st[2])
    torch.set_grad_enabled(False)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device('cuda'):
        m = DiT(D, Fd, H, layers, C).eval()
    torch.set_default_dtype(torch.float32)
    tabs = rope_tables(D // H, 'cuda')
    x = torch.randn(*lat, device='cuda')
    t = torch.tensor([999.0], device='cuda')
    ctx = torch.randn(40, 4096, device='cuda', dtype=torch.bfloat16)

    def fwd():
        with torch.amp.autocast('cuda', dtype=torch.bfloat16):
            return m(x, t, ctx, tabs)
    fwd()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(a.reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fwd()
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    times.sort()
    L = lat[1] * (lat[2] // 2) * (lat[3] // 2)
    res = dict(gpu=torch.cuda.get_device_name(), torch=torch.__version__, task=a.task, size=a.size,
               frames=a.frames, layers=layers, tokens=L, forward_ms=times[len(times) // 2],
               forward_ms_all=times, peak_GiB=torch.cuda.max_memory_allocated() / 2 ** 30)
    print(json.dumps(res))
    if a.json:
        json.dump(res, open(a.json, 'w'), indent=1)


if __name__ == '__main__':
    main()
