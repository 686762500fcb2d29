// ops/cuda/attention_choice.h: what the tuning cache's stored choice does without any timing — "ours"
// builds no cuDNN plan where our kernel can run, and plans cuDNN's where it cannot; "cudnn <i>" puts
// that plan first; an index past the plans, or no cache, is chosen again and (with a cache)
// stored. Each case leaves cuDNN's plan list empty or untimed, so none needs a GPU (the timed
// choice itself runs in the GPU tests: cli.tuning_cache, the attention ops' tests).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/tuning_cache.h"
#include "ops/cuda/attention_choice.h"
#include "test_util.h"

namespace wan::ops::cuda {
namespace {

constexpr const char* kProblem = "attention bf16 Lq=7 Lk=9 H=2 D=128 strides=256,256,256 ours=176";

struct Calls {
  int built = 0, cudnn_runs = 0, ours_runs = 0;
};

// Inputs whose cuDNN plans are `plans` placeholders (their workspace sizes 0, 1, ... tell them
// apart), counting what the choice calls.
AttentionChoiceInputs inputs(TuningCache* cache, bool ours_fits, int plans, std::vector<Candidate>& candidates,
                             Calls& calls) {
  return {cache,
          kProblem,
          "attention test",
          ours_fits,
          [&candidates, &calls, plans] {
            ++calls.built;
            candidates.resize(size_t(plans));
            for (int i = 0; i < plans; ++i) candidates[size_t(i)].workspace = i;
          },
          [&calls](const Candidate&) { ++calls.cudnn_runs; },
          [&calls] { ++calls.ours_runs; }};
}

// A tuning cache in a fresh folder, the plans the choice leaves and what it called.
class AttentionChoice : public ::testing::Test {
 protected:
  // The choice for kProblem with the cache as it stands.
  bool choose(bool ours_fits, int plans) {
    return choose_attention(inputs(&cache, ours_fits, plans, candidates, calls), candidates);
  }
  test::TempDir dir;
  TuningCache cache{dir.file("cache.tsv"), "card"};
  std::vector<Candidate> candidates;
  Calls calls;
};

TEST_F(AttentionChoice, StoredOursBuildsAndTimesNothing) {
  cache.store(kProblem, "ours");
  EXPECT_TRUE(choose(true, 3));
  EXPECT_EQ(calls.built, 0);
  EXPECT_TRUE(candidates.empty());
  EXPECT_EQ(calls.cudnn_runs + calls.ours_runs, 0);
}

TEST_F(AttentionChoice, StoredOursWhereOursCannotRunPlansCudnn) {
  cache.store(kProblem, "ours");
  // cuDNN has no engine either: not ours, and nothing new stored.
  EXPECT_FALSE(choose(false, 0));
  EXPECT_EQ(calls.built, 1);
  EXPECT_EQ(calls.cudnn_runs + calls.ours_runs, 0);
  EXPECT_EQ(cache.lookup(kProblem).value_or(""), "ours");
}

TEST_F(AttentionChoice, StoredCudnnIndexPutsThatPlanFirstWithoutTiming) {
  cache.store(kProblem, "cudnn 2");
  EXPECT_FALSE(choose(true, 3));
  EXPECT_EQ(calls.built, 1);
  ASSERT_EQ(candidates.size(), 3u);
  EXPECT_EQ(candidates[0].workspace, 2);
  EXPECT_EQ(candidates[2].workspace, 0);
  EXPECT_EQ(calls.cudnn_runs + calls.ours_runs, 0);
}

TEST_F(AttentionChoice, AStoredIndexPastThePlansIsChosenAgainAndStored) {
  cache.store(kProblem, "cudnn 7");
  // No cuDNN engine now: our kernel, without a race to run, and that is what the file keeps.
  EXPECT_TRUE(choose(true, 0));
  EXPECT_EQ(calls.built, 1);
  EXPECT_EQ(calls.cudnn_runs + calls.ours_runs, 0);
  EXPECT_EQ(cache.lookup(kProblem).value_or(""), "ours");
  EXPECT_EQ(TuningCache(dir.file("cache.tsv"), "card").lookup(kProblem).value_or(""), "ours");
}

TEST_F(AttentionChoice, WithoutACacheTheChoiceIsMadeEachTime) {
  EXPECT_TRUE(choose_attention(inputs(nullptr, true, 0, candidates, calls), candidates));
  EXPECT_FALSE(choose_attention(inputs(nullptr, false, 0, candidates, calls), candidates));
  EXPECT_EQ(calls.built, 2);
}

}  // namespace
}  // namespace wan::ops::cuda
