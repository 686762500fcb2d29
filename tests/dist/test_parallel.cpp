// The rank layout and the launcher's environment (dist/parallel.h): no GPU needed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "core/error.h"
#include "dist/launcher.h"
#include "dist/parallel.h"

namespace wan::dist {
namespace {

TEST(ParallelConfig, ValidatesDegreesAndHeads) {
  EXPECT_EQ((ParallelConfig{2, 4}.world()), 8);
  EXPECT_NO_THROW((ParallelConfig{2, 8}.validate(40)));
  EXPECT_NO_THROW((ParallelConfig{1, 3}.validate(24)));  // TI2V-5B: 24 heads
  EXPECT_THROW((ParallelConfig{1, 3}.validate(40)), Error);  // A14B: 40 heads do not split 3 ways
  EXPECT_THROW((ParallelConfig{3, 1}.validate()), Error);
  EXPECT_THROW((ParallelConfig{1, 0}.validate()), Error);
  try {
    ParallelConfig{1, 3}.validate(40);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("must divide the DiT's 40 attention heads"), std::string::npos) << e.what();
  }
}

class RankEnvironment : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("WAN_RANK");
    unsetenv("WAN_WORLD_SIZE");
    unsetenv("WAN_NCCL_ID");
  }
};

TEST_F(RankEnvironment, AbsentMeansOneProcess) {
  unsetenv("WAN_RANK");
  EXPECT_FALSE(rank_from_environment().has_value());
}

TEST_F(RankEnvironment, ReadsWhatTheLauncherWrites) {
  const std::string id(256, 'a');
  for (const std::string& kv : rank_environment(1, 2, id, "", 2)) {
    const size_t eq = kv.find('=');
    setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
  }
  const auto info = rank_from_environment();
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->rank, 1);
  EXPECT_EQ(info->world, 2);
  EXPECT_EQ(info->nccl_id_hex, id);
}

TEST_F(RankEnvironment, RefusesMalformedValues) {
  setenv("WAN_RANK", "1", 1);
  EXPECT_THROW(rank_from_environment(), Error);  // no world size, no id
  setenv("WAN_WORLD_SIZE", "1", 1);
  setenv("WAN_NCCL_ID", std::string(256, '0').c_str(), 1);
  EXPECT_THROW(rank_from_environment(), Error);  // rank 1 of 1
  setenv("WAN_WORLD_SIZE", "2", 1);
  setenv("WAN_NCCL_ID", "xyz", 1);
  EXPECT_THROW(rank_from_environment(), Error);
  setenv("WAN_NCCL_ID", std::string(256, '0').c_str(), 1);
  setenv("WAN_RANK", "one", 1);
  EXPECT_THROW(rank_from_environment(), Error);
}

// Device 0 of rank r is GPU r, the others stay visible in order; the user's list is honoured.
TEST(RankEnvironmentVariables, RotateTheVisibleDevices) {
  const std::string id(256, 'f');
  auto visible = [&](int rank, int world, const std::string& user, int count) {
    for (const std::string& kv : rank_environment(rank, world, id, user, count))
      if (kv.rfind("CUDA_VISIBLE_DEVICES=", 0) == 0) return kv.substr(21);
    return std::string("?");
  };
  EXPECT_EQ(visible(0, 2, "", 2), "0,1");
  EXPECT_EQ(visible(1, 2, "", 2), "1,0");
  EXPECT_EQ(visible(2, 4, "", 8), "2,0,1,3,4,5,6,7");
  EXPECT_EQ(visible(1, 2, "5,3", 8), "3,5");
  EXPECT_THROW(rank_environment(0, 4, id, "0,1", 8), Error);  // 4 ranks, 2 visible GPUs
  EXPECT_THROW(rank_environment(0, 2, id, "", 1), Error);
}

// The launcher's process handling, with /bin/sh in place of the ranks: every rank gets its own
// environment; the first failure's code comes back; a failing rank stops the others (a rank that
// ignores SIGTERM is killed after the grace period) instead of leaving them to wait forever.
TEST(RunProcesses, PassesEnvironmentsAndCodes) {
  auto env = [](int r) { return std::vector<std::string>{"R=" + std::to_string(r)}; };
  EXPECT_EQ(run_processes("/bin/sh", 3, {"-c", "test \"$R\" -ge 0 && test \"$R\" -le 2"}, env), 0);
  EXPECT_EQ(run_processes("/bin/sh", 3, {"-c", "exit $((R == 2 ? 7 : 0))"}, env), 7);
}

TEST(RunProcesses, AFailureStopsTheOthers) {
  auto env = [](int r) { return std::vector<std::string>{"R=" + std::to_string(r)}; };
  const auto t0 = std::chrono::steady_clock::now();
  // Rank 1 fails at once; rank 0 would sleep 60 s; SIGTERM ends it.
  EXPECT_EQ(run_processes("/bin/sh", 2, {"-c", "if [ $R = 1 ]; then exit 3; fi; exec sleep 60"}, env), 3);
  // Rank 0 ignores SIGTERM (an ignored signal stays ignored across exec): killed after the 1 s grace.
  EXPECT_EQ(run_processes("/bin/sh", 2, {"-c", "trap '' TERM; if [ $R = 1 ]; then exit 4; fi; exec sleep 60"}, env, 1.0),
            4);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
}

}  // namespace
}  // namespace wan::dist
