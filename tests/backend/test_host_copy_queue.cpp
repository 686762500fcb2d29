// HostCopyQueue (backend/host_copy_queue.h): tensors come back in push order with their values;
// a GPU tensor the caller drops right after push() still arrives intact while more GPU work is
// queued; host tensors pass through; an empty queue refuses pop().
#include <gtest/gtest.h>

#include "backend/backend.h"
#include "backend/host_copy_queue.h"
#include "core/error.h"
#include "core/stats.h"
#include "test_util.h"

namespace wan {
namespace {

TEST(HostCopyQueue, HostTensorsPassThroughInOrder) {
  HostCopyQueue q;
  const Tensor a = test::random_tensor({3, 4}, 1), b = test::random_tensor({5}, 2);
  q.push(a);
  q.push(b.view({5, 1}).permute({1, 0}));  // a view: arrives contiguous
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(rel_l2(q.pop(), a), 0.0);
  const Tensor got = q.pop();
  EXPECT_TRUE(got.is_contiguous());
  EXPECT_EQ(rel_l2(got.view({5}), b), 0.0);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(q.pop(), Error);
}

TEST(HostCopyQueue, GpuTensorsArriveIntactWhileTheGpuWorks) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  HostCopyQueue q;
  std::vector<Tensor> want;
  for (int i = 0; i < 4; ++i) {
    const Tensor host = test::random_tensor({257, 1001}, 10 + uint64_t(i));  // ~1 MB, an odd size
    want.push_back(host);
    {
      const Tensor dev = to_device(host, Device::CUDA);
      q.push(i % 2 ? convert_on_device(dev, DType::BF16) : dev);
    }  // dropped by the caller: only the queue holds its block now
    Tensor reuse = empty_on({257, 1001}, DType::F32, Device::CUDA);
    fill_zero_(reuse);  // more work on the main stream while the copy is in flight
  }
  for (int i = 0; i < 4; ++i) {
    const Tensor got = q.pop();
    EXPECT_EQ(got.device(), Device::CPU);
    if (i % 2) {
      EXPECT_EQ(got.dtype(), DType::BF16);
      EXPECT_LE(rel_l2(got.to(DType::F32), want[size_t(i)]), 4e-3);  // one bf16 rounding
    } else {
      EXPECT_EQ(rel_l2(got, want[size_t(i)]), 0.0) << i;
    }
  }
}

}  // namespace
}  // namespace wan
